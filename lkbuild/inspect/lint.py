"""``lkbuild check``'s static rules: each finding is ``file:line:col: LKnnn message``.

Codes LK0xx are errors (the system cannot work as written), LK1xx warnings (it works, but will hurt).
The rules read only source facts, so they report even when importing the system fails.

| code  | finding |
| ----- | ------- |
| LK000 | the file has a syntax error |
| LK001 | a Component is created inside another Component |
| LK002 | a Component has no forward() |
| LK003 | forward() takes *args or **kwargs |
| LK004 | forward() returns a dict key (or tuple length) that does not match `outputs` |
| LK005 | a constructor argument cannot be recorded |
| LK006 | a name is not valid for a target (dora node id, ROS 2 package/node/topic name) |
| LK101 | a declared output is never returned |
| LK102 | __init__ does heavy work (third-party calls, file or device access) |
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple

from ..errors import Location
from ..graph.validate import NAME, SYSTEM_NAME
from .distributions import is_requirement, is_stdlib
from .facts import ClassFact
from .project import Project, SourceFile

DORA_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
NODE_CLASSES = frozenset({"lkbuild.Node", "lkbuild.node.Node"})
SYSTEM_CLASSES = frozenset({"lkbuild.System", "lkbuild.system.System"})
# Standard-library calls whose results are plain values (recordable) — anything else from the stdlib is not.
VALUE_STDLIB = frozenset({"math", "os", "os.path", "json", "statistics", "random", "operator", "string",
                          "textwrap", "base64", "cmath", "sys", "platform"})
# Standard-library calls that touch files, devices, processes or the network.
HEAVY_STDLIB_CALLS = frozenset({
    "builtins.open", "io.open", "os.open", "os.listdir", "os.scandir", "os.walk", "os.system", "os.popen",
    "os.read", "os.write", "time.sleep", "pickle.load", "threading.Thread", "glob.glob",
    "pathlib.Path.read_text", "pathlib.Path.read_bytes",
})
HEAVY_STDLIB_MODULES = frozenset({"socket", "subprocess", "sqlite3", "mmap", "fcntl", "termios", "select",
                                  "urllib.request", "http.client", "ftplib", "smtplib", "multiprocessing",
                                  "shutil", "ctypes"})

NESTED = ("{inner} is created inside component {outer}. Don't nest components — use a System: create "
          "both at module level and wire them (inner(...) with port handles, or system.connect).")
SETUP_HINT = ("__init__ also runs on the build machine when lkbuild reads the system; move it to setup(), "
              "which runs only on the target")
RECORDABLE = ("arguments must be numbers, strings, bools, None, bytes, lists/tuples/dicts of those, the "
              "component's Config, or a Node; create other objects in setup()")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    file: str
    line: int
    col: int
    # What the same problem is called when importing or validating reports it too (the name, for LK006),
    # so `lkbuild check` does not print it twice.
    subject: Optional[str] = None
    anchor: int = 0  # the line of the statement it belongs to (a multi-line call's first line)

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("LK1") else "error"

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.col)

    def __str__(self) -> str:
        return f"{self.location}: {self.code} {self.message}"

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["anchor"], data["subject"]  # bookkeeping for `lkbuild check`, not for readers
        data["severity"] = self.severity
        data["file"] = self.location.display_file
        return data


def lint_system_file(path: Path) -> Tuple[List[Finding], Project, List[SourceFile]]:
    """Lint a system file and every local file it imports (transitively); no code runs."""
    path = Path(path).resolve()
    project = Project([path.parent])
    files = project.walk([path])
    return lint_project(project, files), project, files


def lint_project(project: Project, files: Iterable[SourceFile]) -> List[Finding]:
    files = list(files)
    found: List[Finding] = []
    derived = _derived_classes(project, files)
    for source in files:
        if source.facts.syntax_error:
            message, line, col = source.facts.syntax_error
            found.append(Finding("LK000", f"syntax error: {message.strip().splitlines()[0]}", str(source.path),
                                 line, col))
            continue
        for qualname, fact in source.facts.classes.items():
            if project.is_component(source, qualname):
                found += _class_rules(project, source, fact, (source.path, qualname) in derived)
        found += _construction_rules(project, source)
    return sorted(set(found), key=lambda f: (f.file, f.line, f.col, f.code, f.message))


def _derived_classes(project: Project, files: List[SourceFile]) -> Set[Tuple[Path, str]]:
    """Classes some project class derives from: abstract bases need no forward of their own."""
    derived = set()
    for source in files:
        for qualname in source.facts.classes:
            derived.update((s.path, q) for s, q in project.bases_in_project(source, qualname))
    return derived


# -- rules on Component classes ----------------------------------------------------------------------------
def _class_rules(project: Project, source: SourceFile, fact: ClassFact, is_base: bool) -> List[Finding]:
    file = str(source.path)
    found = []
    forward = fact.forward
    if forward is None and not is_base and not _forward_inherited(project, source, fact.qualname):
        found.append(Finding("LK002", f"component class {fact.name} has no forward() method; define "
                                      "forward(self, <inputs>) returning its outputs.", file, fact.line, fact.col,
                             subject=f"{fact.name} has no forward() method"))
    if forward is not None:
        for p in forward.params:
            if p.kind in ("args", "kwargs"):
                star = "*" if p.kind == "args" else "**"
                found.append(Finding("LK003", f"{fact.name}.forward() takes {star}{p.name}: ports cannot be "
                                              "known. Name every input as a parameter.", file, p.line, p.col,
                                     subject=f"{fact.name}.forward() takes {star}{p.name}"))
            elif not NAME.match(p.name):
                found.append(_bad_name("input", p.name, file, p.line, p.col))
        found += _output_rules(project, source, fact)
    for name, line, col in fact.outputs or ():
        if not NAME.match(name):
            found.append(_bad_name("output", name, file, line, col))
    if fact.name_arg is not None:
        found += _component_name(fact.name_arg, file)
    for call in fact.calls:
        found += _call_rules(project, source, fact, call)
    return found


def _forward_inherited(project: Project, source: SourceFile, qualname: str, depth: int = 0) -> bool:
    if project.has_external_base(source, qualname):
        return True  # a base we cannot read may define forward
    for base_source, base in project.bases_in_project(source, qualname):
        if base_source.facts.classes[base].forward is not None or (
                depth < 20 and _forward_inherited(project, base_source, base, depth + 1)):
            return True
    return False


def _declared_outputs(project: Project, source: SourceFile, fact: ClassFact, depth: int = 0):
    """(names with positions, where declared) — from the class or its nearest project base; None if unknown."""
    if fact.outputs_at is not None:
        return (fact.outputs, fact.outputs_at) if fact.outputs is not None else None
    if depth < 20:
        for base_source, base in project.bases_in_project(source, fact.qualname):
            found = _declared_outputs(project, base_source, base_source.facts.classes[base], depth + 1)
            if found is not None:
                return found
    if project.has_external_base(source, fact.qualname):
        return None
    return [("out", fact.line, fact.col)], None


def _output_rules(project: Project, source: SourceFile, fact: ClassFact) -> List[Finding]:
    declared = _declared_outputs(project, source, fact)
    if declared is None:
        return []
    outputs, at = declared
    names = [n for n, _, _ in outputs]
    if len(names) < 2:
        return []
    file, found = str(source.path), []
    returned: Set[str] = set()
    returns = fact.forward.returns
    for ret in returns:
        if ret.kind == "dict":
            for key, line, col in ret.keys:
                returned.add(key)
                if key not in names:
                    found.append(Finding("LK004", f"{fact.name}.forward() returns key '{key}', which is not one "
                                                  f"of its outputs ({', '.join(names)}). Declare it in outputs "
                                                  "or fix the key.", file, line, col))
        elif ret.kind == "tuple" and ret.length != len(names):
            found.append(Finding("LK004", f"{fact.name}.forward() returns a tuple of {ret.length} values for "
                                          f"{len(names)} outputs ({', '.join(names)}).", file, ret.line, ret.col))
    dict_only = returns and all(r.kind in ("dict", "none") for r in returns) and any(r.kind == "dict" for r in returns)
    if dict_only and at is not None:
        for name, line, col in outputs:
            if name not in returned:
                found.append(Finding("LK101", f"output '{name}' of {fact.name} is declared but forward() never "
                                              "returns it.", file, line, col))
    return found


def _call_rules(project: Project, source: SourceFile, fact: ClassFact, call) -> List[Finding]:
    file = str(source.path)
    for q in call.callee:
        where = project.resolve_class(source, tuple(q))
        if where is not None and project.is_component(*where):
            inner = where[0].facts.classes[where[1]].name
            return [Finding("LK001", NESTED.format(inner=inner, outer=fact.name), file, call.line, call.col)]
    if call.method != "__init__":
        return []
    for name, kind in call.callee:
        heavy = _heavy(project, source, name, kind)
        if heavy:
            return [Finding("LK102", f"{fact.name}.__init__ calls {heavy}; {SETUP_HINT}.", file, call.line,
                            call.col)]
    return []


def _heavy(project: Project, source: SourceFile, name: str, kind: str) -> Optional[str]:
    """A description of the call when it is heavy work, else None."""
    if kind == "builtin":
        return "open()" if name == "builtins.open" else None
    if kind != "import":
        return None
    name = project.absolute_name(source, name)
    if _is_local(project, name) or not name:
        return None
    if is_stdlib(name):
        parts = name.split(".")
        modules = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if name in HEAVY_STDLIB_CALLS or modules & HEAVY_STDLIB_MODULES:
            return f"{name}()"
        return None
    if is_requirement(name):
        return f"{name}() from the third-party package '{name.split('.')[0]}'"
    return None


def _is_local(project: Project, name: str) -> bool:
    parts = name.split(".")
    return any(project.find_module(".".join(parts[:i])) for i in range(1, len(parts) + 1))


# -- rules on constructions (Camera(...), Node(...), System(...)) ---------------------------------------
def _construction_rules(project: Project, source: SourceFile) -> List[Finding]:
    file, found = str(source.path), []
    for call in source.facts.constructions:
        names = {project.absolute_name(source, n) for n, kind in call.callee if kind == "import"}
        if names & NODE_CLASSES:
            found += _named(call, "#0", "node", file)
            continue
        if names & SYSTEM_CLASSES:
            found += _named(call, "#1", "system", file)
            continue
        where = next((w for w in (project.resolve_class(source, tuple(q)) for q in call.callee) if w), None)
        if where is None or not project.is_component(*where):
            continue
        cls = where[0].facts.classes[where[1]].name
        for arg in call.args:
            problem = arg.problem or _unrecordable_call(project, source, arg.calls)
            if problem:
                what = f"'{arg.key}'" if not arg.key.startswith("#") else f"#{arg.key[1:]} (positional)"
                via = f" (through '{arg.via}')" if arg.via else ""
                found.append(Finding("LK005", f"{cls}: constructor argument {what} cannot be recorded: it is "
                                              f"{problem}{via}; {RECORDABLE}.", file, arg.line, arg.col,
                                     anchor=call.line))
        # Component's own __init__ takes the name first; an overriding one may take anything there.
        position = "name" if _defines_init(project, *where) else "#0"
        found += _named(call, position, "component", file)
    return found


def _defines_init(project: Project, source: SourceFile, qualname: str, depth: int = 0) -> bool:
    if "__init__" in source.facts.classes[qualname].methods:
        return True
    return depth < 20 and any(_defines_init(project, s, q, depth + 1) for s, q in project.bases_in_project(source, qualname))


def _unrecordable_call(project: Project, source: SourceFile, calls) -> Optional[str]:
    for name, kind in calls:
        if kind == "local":
            target = source.facts.classes.get(name)
            if target is not None and not name.endswith("Config"):
                return f"an instance of {target.name}"
            continue
        if kind != "import":
            continue
        absolute = project.absolute_name(source, name)
        if _is_local(project, absolute):
            where = project.resolve_class(source, (name, kind))
            if where is not None and not where[1].endswith("Config"):
                return f"an instance of {where[1].rsplit('.', 1)[-1]}"
            continue
        module = absolute.rpartition(".")[0] or absolute
        if absolute in NODE_CLASSES or absolute.split(".")[0] == "lkbuild":
            continue
        if is_stdlib(absolute) and (module in VALUE_STDLIB or module.split(".")[0] in VALUE_STDLIB):
            continue
        return f"the result of {absolute}()"
    return None


def _named(call, position: str, kind: str, file: str) -> List[Finding]:
    arg = next((a for a in call.args if a.key in (position, "name")), None)
    if arg is None or arg.text is None:
        return []
    if kind == "component":
        return _component_name((arg.text, arg.line, arg.col), file)
    if kind == "node" and not NAME.match(arg.text):
        return [_bad_name("node", arg.text, file, arg.line, arg.col)]
    if kind == "system" and (not SYSTEM_NAME.match(arg.text) or arg.text == "test"):
        return [Finding("LK006", f"system name '{arg.text}' is not a valid ROS 2 package name: use lowercase "
                                 "letters, digits and '_', starting with a letter (and not 'test').",
                        file, arg.line, arg.col, subject=arg.text)]
    return []


def _component_name(name_arg, file: str) -> List[Finding]:
    name, line, col = name_arg
    return [_bad_name("component", name, file, line, col)] if not NAME.match(name) else []


def _bad_name(kind: str, name: str, file: str, line: int, col: int) -> Finding:
    targets = "ROS 2 node and topic names" if kind in ("component", "node") else "ROS 2 topic names"
    if not DORA_ID.match(name) and kind in ("component", "node"):
        targets = "dora node ids, " + targets
    return Finding("LK006", f"{kind} name '{name}' is not valid for {targets}: use letters, digits and '_', "
                            "starting with a letter.", file, line, col, subject=name)
