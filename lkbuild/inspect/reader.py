"""Reads one Python source file with libcst into ``FileFacts``, without importing or running it.

One pass of a metadata-aware visitor collects imports, classes (forward, outputs, Config, calls) and
construction calls; libcst's scope analysis then says which module-level names each top-level
definition uses, which is how a class's real imports are found.
"""
from __future__ import annotations

import ast
import bisect
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import (
    GlobalScope, MetadataWrapper, PositionProvider, ScopeProvider,
)

from .facts import (
    MODULE_OWNER, ArgFact, CallFact, ClassFact, ConfigField, ConstructionFact, FileFacts, ForwardFact,
    ImportFact, Param, Position, Return,
)

# Builtins whose result can never be recorded as a constructor argument.
UNRECORDABLE_BUILTINS = {
    "open": "an open file", "set": "a set", "frozenset": "a frozenset", "object": "an object",
    "bytearray": "a bytearray", "iter": "an iterator", "range": "a range", "memoryview": "a memoryview",
    "complex": "a complex number", "type": "a class", "map": "an iterator", "filter": "an iterator",
    "zip": "an iterator", "enumerate": "an iterator",
}
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
_EMPTY = cst.Module([])


def read_source(text: str) -> FileFacts:
    """The facts of one file's source text. A syntax error is a fact too (``syntax_error``)."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return FileFacts(syntax_error=_syntax_error(text, exc))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    reader = _Reader()
    wrapper.visit(reader)
    facts = reader.facts
    _collect_uses(wrapper, reader, facts)
    return facts


def _syntax_error(text: str, exc: cst.ParserSyntaxError) -> Tuple[str, int, int]:
    """Python's own message and position when it agrees the file is invalid (libcst's are vaguer)."""
    try:
        compile(text, "<source>", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as py:
        return py.msg, py.lineno or 1, max((py.offset or 1) - 1, 0)
    return exc.message, exc.raw_line, exc.raw_column


def code(node: Optional[cst.CSTNode]) -> Optional[str]:
    return None if node is None else _EMPTY.code_for_node(node).strip()


class _Reader(cst.CSTVisitor):
    # Qualified names are asked of the scope only for the few nodes that need them: libcst's
    # QualifiedNameProvider would compute them for every name in the file, doubling the cost of a read.
    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider)

    def __init__(self):
        super().__init__()
        self.facts = FileFacts()
        self.classes: List[ClassFact] = []  # stack of enclosing classes
        self.functions: List[Tuple[str, Optional[ClassFact]]] = []  # (name, class it is a method of)
        self.owner: Optional[str] = None  # the top-level def/class we are in
        self.optional = 0  # depth of try/except ImportError and `if TYPE_CHECKING:` blocks
        self.top_level: List[Tuple[int, str]] = []  # (first line, owner) of each top-level statement
        self.module_values: Dict[str, cst.BaseExpression] = {}  # module-level `name = value`
        self.kinds: List[str] = []  # "class" / "function", innermost last
        self.names: List[str] = []  # qualname parts of where we are

    # -- helpers ------------------------------------------------------------------------------------
    def pos(self, node: cst.CSTNode) -> Tuple[int, int]:
        start = self.get_metadata(PositionProvider, node).start
        return start.line, start.column

    def qnames(self, node: cst.CSTNode) -> List[Tuple[str, str]]:
        """``[(qualified name, "import" | "local" | "builtin")]`` of a name or attribute chain."""
        scope = self.get_metadata(ScopeProvider, node, None)
        names = scope.get_qualified_names_for(node) if scope is not None else set()
        return sorted((q.name, q.source.name.lower()) for q in names)

    # -- module layout --------------------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                owner = stmt.name.value
                self.facts.defs[owner] = "class" if isinstance(stmt, cst.ClassDef) else "function"
            else:
                owner = MODULE_OWNER
                self._module_assignments(stmt)
                variable = _module_variable(stmt)
                if variable is not None and self.facts.defs.get(variable, "variable") == "variable":
                    # `LOG = sdk.Logger()`: a class that uses LOG needs sdk (its statement stays module code too)
                    owner = variable
                    self.facts.defs[variable] = "variable"
            first = stmt.decorators[0] if getattr(stmt, "decorators", None) else stmt  # decorators belong to it
            self.top_level.append((self.get_metadata(PositionProvider, first).start.line, owner))

    def _module_assignments(self, stmt) -> None:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                name = small.targets[0].target.value
                # A name assigned twice could hold either value: only a single assignment is trusted.
                self.module_values[name] = None if name in self.module_values else small.value

    # -- imports ---------------------------------------------------------------------------------------
    def visit_Try(self, node: cst.Try) -> None:
        if any(_catches_import_error(h) for h in node.handlers):
            self.optional += 1

    def leave_Try(self, original_node: cst.Try) -> None:
        if any(_catches_import_error(h) for h in original_node.handlers):
            self.optional -= 1

    def visit_If(self, node: cst.If) -> None:
        if _is_type_checking(node.test):
            self.optional += 1

    def leave_If(self, original_node: cst.If) -> None:
        if _is_type_checking(original_node.test):
            self.optional -= 1

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = code(alias.name)
            bound = code(alias.asname.name) if alias.asname else module.split(".")[0]
            self._import(node, module, bound)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = code(node.module) if node.module is not None else ""
        level = len(node.relative)
        if isinstance(node.names, cst.ImportStar):
            self._import(node, module, "*", level=level, attr="*")
            return
        for alias in node.names:
            attr = code(alias.name)
            bound = code(alias.asname.name) if alias.asname else attr
            self._import(node, module, bound, level=level, attr=attr)

    def _import(self, statement, module: str, bound: str, level: int = 0, attr: Optional[str] = None) -> None:
        line, col = self.pos(statement)
        self.facts.imports.append(ImportFact(
            module=module, name=bound, line=line, col=col, level=level, attr=attr,
            owner=self.owner, optional=self.optional > 0,
        ))

    # -- classes ---------------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        outer = self.classes[-1] if self.classes and self.kinds[-1] == "class" else None
        if self.owner is None:
            self.owner = node.name.value
        line, col = self.pos(node.name)
        fact = ClassFact(
            name=node.name.value, qualname=".".join(self.names + [node.name.value]), line=line, col=col,
            owner=self.owner, bases=[self.qnames(arg.value) for arg in node.bases if arg.keyword is None],
        )
        if outer is not None and node.name.value == "Config":
            outer.config = _config_fields(self, node)
        self.facts.classes[fact.qualname] = fact
        self.classes.append(fact)
        self.kinds.append("class")
        self.names.append(node.name.value)
        self._class_body(fact, node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()
        self.kinds.pop()
        self.names.pop()
        if not self.kinds:
            self.owner = None

    def _class_body(self, fact: ClassFact, node: cst.ClassDef) -> None:
        for stmt in node.body.body:
            if isinstance(stmt, cst.FunctionDef):
                fact.methods.append(stmt.name.value)
                if stmt.name.value == "forward":
                    fact.forward = _forward(self, stmt)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    target = _assigned_name(small)
                    if target == "outputs" and small.value is not None:
                        fact.outputs = _string_names(self, small.value)
                        fact.outputs_at = Position(*self.pos(small))

    # -- functions -------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.owner is None:
            self.owner = node.name.value
        method_of = self.classes[-1] if self.kinds and self.kinds[-1] == "class" else None
        self.functions.append((node.name.value, method_of))
        self.kinds.append("function")
        self.names += [node.name.value, "<locals>"]

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.kinds.pop()
        del self.names[-2:]
        if not self.kinds:
            self.owner = None

    # -- calls -----------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        method = self._current_method()
        if method is not None:
            cls, name = method
            # builtins matter only for open(); dropping the rest (super(), len()...) keeps the cache small
            callee = [q for q in self.qnames(node.func) if q[1] != "builtin" or q[0] == "builtins.open"]
            line, col = self.pos(node)
            if callee:
                cls.calls.append(CallFact(callee=callee, line=line, col=col, method=name))
            if name == "__init__" and _is_super_init(node.func):
                cls.name_arg = _name_argument(self, node)
            return
        if self.classes:
            return  # class-body statements outside methods build no components worth checking
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if last[:1].isupper():
            line, col = self.pos(node)
            self.facts.constructions.append(ConstructionFact(
                callee=self.qnames(func), line=line, col=col, args=_arguments(self, node),
            ))

    def _current_method(self) -> Optional[Tuple[ClassFact, str]]:
        """The (class, method) whose body we are in, looking through nested functions."""
        for name, cls in reversed(self.functions):
            if cls is not None:
                return cls, name
        return None


# Plain isinstance checks instead of libcst.matchers: importing the matchers costs ~0.4 s per run.
class _Finder(cst.CSTVisitor):
    def __init__(self, kind, skip):
        super().__init__()
        self.kind, self.skip, self.found = kind, skip, []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.kind):
            self.found.append(node)
        return not isinstance(node, self.skip)


def _find(node: cst.CSTNode, kind, skip=()) -> list:
    """Nodes of ``kind`` under ``node``, not looking inside ``skip`` nodes (nested functions...)."""
    finder = _Finder(kind, skip)
    node.visit(finder)
    return finder.found


def _is_name(node, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def _is_type_checking(test) -> bool:
    return _is_name(test, "TYPE_CHECKING") or (isinstance(test, cst.Attribute) and _is_name(test.attr, "TYPE_CHECKING"))


def _is_super_init(func) -> bool:
    """``super().__init__``"""
    return (isinstance(func, cst.Attribute) and _is_name(func.attr, "__init__") and isinstance(func.value, cst.Call)
            and _is_name(func.value.func, "super"))


def _catches_import_error(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.value for n in _find(handler.type, cst.Name)}
    return bool(names & _IMPORT_ERRORS)


def _assigned_name(small) -> Optional[str]:
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return small.targets[0].target.value
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return small.target.value
    return None


def _string(node) -> Optional[str]:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _string_names(reader: _Reader, value) -> Optional[List[Tuple[str, int, int]]]:
    """Names from ``outputs = "x"``, ``("a", "b")``, ``["a"]`` or ``{"a": T}``; None if not a literal."""
    single = _string(value)
    if single is not None:
        return [(single, *reader.pos(value))]
    if isinstance(value, (cst.Tuple, cst.List)):
        items = [e.value for e in value.elements]
    elif isinstance(value, cst.Dict):
        items = [e.key for e in value.elements if isinstance(e, cst.DictElement)]
        if len(items) != len(value.elements):
            return None
    else:
        return None
    names = [(_string(item), *reader.pos(item)) for item in items]
    return None if any(n is None for n, _, _ in names) else names


def _config_fields(reader: _Reader, node: cst.ClassDef) -> List[ConfigField]:
    found = []
    for stmt in node.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                found.append(ConfigField(small.target.value, code(small.annotation.annotation), code(small.value),
                                         reader.pos(small.target)[0]))
    return found


def _forward(reader: _Reader, node: cst.FunctionDef) -> ForwardFact:
    line, col = reader.pos(node.name)
    fact = ForwardFact(line=line, col=col)
    params = node.params
    ordinary = list(params.posonly_params) + list(params.params)
    for i, p in enumerate(ordinary):
        if i == 0:
            continue  # self
        fact.params.append(_param(reader, p, "normal"))
    for star, kind in ((params.star_arg, "args"), (params.star_kwarg, "kwargs")):
        if isinstance(star, cst.Param):
            fact.params.append(_param(reader, star, kind))
    fact.params.extend(_param(reader, p, "keyword_only") for p in params.kwonly_params)
    for ret in _find(node.body, cst.Return, skip=(cst.FunctionDef, cst.Lambda, cst.ClassDef)):
        fact.returns.append(_return(reader, ret))
    return fact


def _param(reader: _Reader, p: cst.Param, kind: str) -> Param:
    line, col = reader.pos(p.name)
    annotation = code(p.annotation.annotation) if p.annotation is not None else None
    return Param(p.name.value, required=p.default is None and kind in ("normal", "keyword_only"),
                 annotation=annotation, line=line, col=col, kind=kind)


def _return(reader: _Reader, ret: cst.Return) -> Return:
    line, col = reader.pos(ret)
    value = ret.value
    if value is None or _is_name(value, "None"):
        return Return(line, col, "none")
    if isinstance(value, cst.Dict):
        keys = []
        for element in value.elements:
            key = _string(element.key) if isinstance(element, cst.DictElement) else None
            if key is None:
                return Return(line, col, "other")
            keys.append((key, *reader.pos(element.key)))
        return Return(line, col, "dict", keys=keys)
    if isinstance(value, cst.Tuple) and not any(isinstance(e, cst.StarredElement) for e in value.elements):
        return Return(line, col, "tuple", length=len(value.elements))
    return Return(line, col, "other")


def _name_argument(reader: _Reader, call: cst.Call) -> Optional[Tuple[str, int, int]]:
    for i, arg in enumerate(call.args):
        if (arg.keyword is None and i == 0 and arg.star == "") or (arg.keyword and arg.keyword.value == "name"):
            text = _string(arg.value)
            return (text, *reader.pos(arg.value)) if text is not None else None
    return None


def _arguments(reader: _Reader, call: cst.Call) -> List[ArgFact]:
    args = []
    for i, arg in enumerate(call.args):
        if arg.star:
            continue
        key = arg.keyword.value if arg.keyword is not None else f"#{i}"
        line, col = reader.pos(arg.value)
        fact = ArgFact(key=key, line=line, col=col, text=_string(arg.value))
        fact.problem, fact.calls = _value_verdict(reader, arg.value)
        if isinstance(arg.value, cst.Name) and reader.module_values.get(arg.value.value) is not None:
            source = reader.module_values[arg.value.value]
            fact.problem, fact.calls = _value_verdict(reader, source)
            fact.via = arg.value.value
        args.append(fact)
    return args


def _value_verdict(reader: _Reader, value) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """(certain problem, calls producing the value) for an argument expression."""
    if isinstance(value, cst.Lambda):
        return "a lambda", []
    if isinstance(value, (cst.Set, cst.SetComp)):
        return "a set", []
    if isinstance(value, cst.GeneratorExp):
        return "a generator", []
    if isinstance(value, cst.Imaginary):
        return "a complex number", []
    if isinstance(value, cst.Call):
        callee = reader.qnames(value.func)
        for name, source in callee:
            if source == "builtin" and name.split(".", 1)[1] in UNRECORDABLE_BUILTINS:
                return UNRECORDABLE_BUILTINS[name.split(".", 1)[1]], []
        return None, callee
    if isinstance(value, (cst.List, cst.Tuple)):
        elements = [e.value for e in value.elements]
    elif isinstance(value, cst.Dict):
        elements = []
        for e in value.elements:
            if isinstance(e, cst.DictElement):
                if isinstance(e.key, (cst.Integer, cst.Float, cst.Tuple)) or _is_name(e.key, "None"):
                    return "a dict with a key that is not a string", []
                elements.append(e.value)
    else:
        return None, []
    calls: List[Tuple[str, str]] = []
    for element in elements:
        problem, inner = _value_verdict(reader, element)
        if problem:
            return problem, []
        calls.extend(inner)
    return None, calls


def _module_variable(stmt) -> Optional[str]:
    """The one name a module-level ``NAME = ...`` (or ``NAME: T = ...``) statement binds, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    if isinstance(stmt.body[0], cst.AnnAssign) and stmt.body[0].value is None:
        return None  # an annotation alone binds nothing
    return _assigned_name(stmt.body[0])


def _collect_uses(wrapper: MetadataWrapper, reader: _Reader, facts: FileFacts) -> None:
    """For each top-level statement's owner, the module-level names its code refers to (scope analysis)."""
    scopes = {s for s in wrapper.resolve(ScopeProvider).values() if s is not None}
    positions = wrapper.resolve(PositionProvider)
    global_scope = next((s for s in scopes if isinstance(s, GlobalScope)), None)
    if global_scope is None:
        return
    starts = [line for line, _ in reader.top_level]
    uses: Dict[str, Set[str]] = {}
    for scope in scopes:
        for access in scope.accesses:
            referents = [r for r in access.referents if r.scope is global_scope]
            if not referents:
                continue
            where = positions.get(access.node)
            if where is None:
                continue
            index = bisect.bisect_right(starts, where.start.line) - 1
            owner = reader.top_level[index][1] if index >= 0 else MODULE_OWNER
            for ref in referents:
                if ref.name != owner:
                    uses.setdefault(owner, set()).add(ref.name)
                    if facts.defs.get(owner) == "variable":
                        uses.setdefault(MODULE_OWNER, set()).add(ref.name)
    facts.uses = {owner: sorted(names) for owner, names in sorted(uses.items())}
