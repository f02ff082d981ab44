"""What the reader learns from one source file: plain data, JSON-able, cached by the file's content hash.

Facts depend only on the file's text — never on the file system or on what is installed — so they can be
cached by content. Everything that needs other files (which module is local, which class is a
Component) is decided later, by ``project.py``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

MODULE_OWNER = "<module>"  # owner of the statements that run when the module is imported


@dataclass
class Position:
    """line 1-based, column 0-based (as compilers print them)."""

    line: int
    col: int


@dataclass
class ImportFact:
    """One name bound by an import statement.

    ``import a.b as c``: module ``a.b``, name ``c``. ``from .x import y``: module ``x``, level 1, attr ``y``
    (``y`` may be a submodule). ``owner`` is the top-level definition the statement sits in (``None``
    at module level); ``optional`` marks imports guarded by ``try/except ImportError`` or ``TYPE_CHECKING``.
    """

    module: str
    name: str
    line: int
    col: int
    level: int = 0
    attr: Optional[str] = None
    owner: Optional[str] = None
    optional: bool = False


@dataclass
class Param:
    name: str
    required: bool
    annotation: Optional[str]
    line: int
    col: int
    kind: str = "normal"  # normal | args | kwargs | keyword_only


@dataclass
class Return:
    """A ``return`` in forward: the keys of a dict literal, the length of a tuple literal, or neither."""

    line: int
    col: int
    kind: str  # dict | tuple | none | other
    keys: List[Tuple[str, int, int]] = field(default_factory=list)  # (key, line, col)
    length: int = 0


@dataclass
class ForwardFact:
    line: int
    col: int
    params: List[Param] = field(default_factory=list)
    returns: List[Return] = field(default_factory=list)


@dataclass
class ConfigField:
    name: str
    annotation: Optional[str]
    default: Optional[str]  # source text of the default, None when the field has none
    line: int = 0


@dataclass
class CallFact:
    """A call made inside a class: ``callee`` are its qualified names as ``[name, source]`` pairs."""

    callee: List[Tuple[str, str]]
    line: int
    col: int
    method: str  # the method it is in


@dataclass
class ArgFact:
    """One argument of a construction call and why it may not be recordable.

    ``problem`` is certain from the syntax alone (a lambda, a set...); ``calls`` are the qualified names
    of calls that produce the value — the project decides whether those are recordable.
    """

    key: str  # keyword name, or "#<index>" for a positional argument
    line: int
    col: int
    problem: Optional[str] = None
    calls: List[Tuple[str, str]] = field(default_factory=list)
    text: Optional[str] = None  # the value when it is a plain string literal
    via: Optional[str] = None  # module-level variable the value comes from


@dataclass
class ConstructionFact:
    """A call outside any class to something named like a class (``Camera(...)``, ``Node(...)``)."""

    callee: List[Tuple[str, str]]
    line: int
    col: int
    args: List[ArgFact] = field(default_factory=list)


@dataclass
class ClassFact:
    name: str
    qualname: str
    line: int
    col: int
    owner: str  # the top-level statement it belongs to (its outermost class)
    bases: List[List[Tuple[str, str]]] = field(default_factory=list)
    methods: List[str] = field(default_factory=list)
    forward: Optional[ForwardFact] = None
    outputs: Optional[List[Tuple[str, int, int]]] = None  # names with positions, when a literal
    outputs_at: Optional[Position] = None
    config: Optional[List[ConfigField]] = None
    calls: List[CallFact] = field(default_factory=list)
    name_arg: Optional[Tuple[str, int, int]] = None  # the name passed to super().__init__


@dataclass
class FileFacts:
    imports: List[ImportFact] = field(default_factory=list)
    uses: Dict[str, List[str]] = field(default_factory=dict)  # owner -> module-level names it uses
    # top-level def/class name -> "function" | "class"; a module-level ``NAME = ...`` -> "variable"
    defs: Dict[str, str] = field(default_factory=dict)
    classes: Dict[str, ClassFact] = field(default_factory=dict)  # by qualname
    constructions: List[ConstructionFact] = field(default_factory=list)
    syntax_error: Optional[Tuple[str, int, int]] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FileFacts":
        return _build(cls, data)


# Rebuilding nested dataclasses from JSON: each field's element type, where it is a dataclass.
_NESTED = {
    (FileFacts, "imports"): ImportFact,
    (FileFacts, "classes"): ClassFact,
    (FileFacts, "constructions"): ConstructionFact,
    (ClassFact, "forward"): ForwardFact,
    (ClassFact, "outputs_at"): Position,
    (ClassFact, "config"): ConfigField,
    (ClassFact, "calls"): CallFact,
    (ForwardFact, "params"): Param,
    (ForwardFact, "returns"): Return,
    (ConstructionFact, "args"): ArgFact,
}


def _build(cls, data):
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value, inner = data[f.name], _NESTED.get((cls, f.name))
        if inner is not None and value is not None:
            if isinstance(value, list):
                value = [_build(inner, v) for v in value]
            elif isinstance(value, dict) and f.name == "classes":
                value = {k: _build(inner, v) for k, v in value.items()}
            else:
                value = _build(inner, value)
        values[f.name] = value
    return cls(**values)
