"""``Component``: the atomic unit of a robot program, and the port handles used to wire it."""
from __future__ import annotations

import math
import re
import threading
import types
from typing import Any, Dict, Optional, Tuple

from .construction import encode_construction  # noqa: F401  (re-exported; it lives beside the record it reads)
from .declarations import check_config_types, check_queues, normalize_outputs
from .errors import GraphError, Location
from .errors import user_location as _user_location
from .node import Node

DEFAULT_RATE_HZ = 10.0
_building = threading.local()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class OutputPort:
    """Handle to a component's output; pass it to another component's call to wire an edge."""

    def __init__(self, component: "Component", name: str):
        self.component = component
        self.name = name

    def __repr__(self) -> str:
        return f"<output {self.component.name}.{self.name}>"


class InputPort:
    """Handle to a component's input, for ``system.connect(src, dst)``."""

    def __init__(self, component: "Component", name: str):
        self.component = component
        self.name = name

    def __repr__(self) -> str:
        return f"<input {self.component.name}.{self.name}>"


class _Ports:
    """Attribute and item access to a component's ports by name; iterates over the names."""

    def __init__(self, component: "Component", names: Tuple[str, ...], kind: str, factory):
        self._component = component
        self._names = names
        self._kind = kind
        self._handles = {n: factory(component, n) for n in names}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name):
        if isinstance(name, int):
            return self._handles[self._names[name]]
        try:
            return self._handles[name]
        except KeyError:
            known = ", ".join(self._names) or "none"
            raise GraphError(
                f"Component '{self._component.name}' has no {self._kind} named '{name}'. "
                f"Its {self._kind}s: {known}."
            ) from None

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name) -> bool:
        return name in self._handles

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"<{self._kind}s of {self._component.name}: {', '.join(self._names)}>"


class _CallOutputs(_Ports):
    """What a functional call returns for several outputs: handles by name, and unpacking gives handles.

    ``dets, debug = detector(image=camera.out)`` must bind handles (as Keras binds tensors); the names
    would silently become values on the next call.
    """

    def __init__(self, ports: _Ports):
        self._component, self._names, self._kind, self._handles = (
            ports._component, ports._names, ports._kind, ports._handles)

    def __iter__(self):
        return (self._handles[name] for name in self._names)


class _OutputsAttribute:
    """``Cls.outputs`` is the tuple of names; ``instance.outputs`` gives the output handles."""

    def __get__(self, instance, owner):
        if instance is None:
            return owner._lk_outputs
        return instance._lk_output_ports


class ComponentMeta(type):
    """Records how every component is constructed and keeps ``outputs`` readable both ways."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        if "outputs" in namespace and not isinstance(namespace["outputs"], _OutputsAttribute):
            names, types = normalize_outputs(namespace.pop("outputs"), name)
            namespace["_lk_outputs"] = names
            namespace["_lk_output_types"] = types
            namespace["outputs"] = _OutputsAttribute()
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __call__(cls, *args, **kwargs):
        stack = getattr(_building, "stack", None)
        if stack is None:
            stack = _building.stack = []
        where = _user_location()
        if stack:
            outer = stack[-1]
            raise GraphError(
                f"Component {cls.__name__} is created inside component '{outer.__name__}'. "
                "Don't nest components — use a System to compose them.",
                where,
            )
        stack.append(cls)
        try:
            instance = super().__call__(*args, **kwargs)
        finally:
            stack.pop()
        instance._lk_created_at = where
        instance._lk_construction = (tuple(args), dict(kwargs))
        return instance


class Component(metaclass=ComponentMeta):
    """An atomic piece of a robot program: inputs, outputs, a Config and ``forward()``.

    Inputs are the parameters of ``forward()`` (a parameter with a default is optional); outputs are
    the class attribute ``outputs`` (default: one output named ``out``; ``()`` for a sink). A component
    without inputs is a source and fires at ``rate_hz``.

    Example:
        >>> class Doubler(Component):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> Doubler("doubler")(x=21)
        42
    """

    outputs = ("out",)
    rate_hz: float = DEFAULT_RATE_HZ

    def __init__(self, name: Optional[str] = None, node: Optional[Node] = None, config=None,
                 rate_hz: Optional[float] = None):
        cls = type(self)
        self.name = name if name is not None else _snake(cls.__name__)
        if not isinstance(self.name, str) or not self.name:
            raise GraphError(f"{cls.__name__}: name must be a non-empty string. Received: name={name!r}")
        if node is not None and not isinstance(node, Node):
            raise GraphError(
                f"Component '{self.name}': node must be a Node. Received: node={node!r} "
                f"(of type {type(node).__name__})"
            )
        self.node = node
        self.config = self._make_config(config)
        self.rate_hz = self._pick_rate(rate_hz)
        self._lk_wiring: Dict[str, OutputPort] = {}
        self._lk_input_names, self._lk_required = _forward_signature(cls)
        check_queues(cls, self._lk_input_names)
        self._lk_output_ports = _Ports(self, cls._lk_outputs, "output", OutputPort)
        self.inputs = _Ports(self, self._lk_input_names, "input", InputPort)

    # -- configuration -------------------------------------------------------------------------
    def _make_config(self, config):
        config_cls = getattr(type(self), "Config", None)
        if config_cls is None:
            if config is not None and not isinstance(config, dict):
                raise GraphError(f"Component '{self.name}' has no Config class; pass config as a dict or not at all.")
            return config
        if config is None:
            return config_cls()
        if isinstance(config, dict):
            try:
                config = config_cls(**config)
            except TypeError as exc:
                raise GraphError(f"Component '{self.name}': bad config {config!r}: {exc}", code="LK251") from None
        if isinstance(config, config_cls):
            check_config_types(self.name, config)
            return config
        raise GraphError(
            f"Component '{self.name}': config must be a {config_cls.__qualname__} or a dict. "
            f"Received: config={config!r} (of type {type(config).__name__})"
        )

    def _pick_rate(self, rate_hz) -> float:
        if rate_hz is None:
            rate_hz = getattr(self.config, "rate_hz", None) or type(self).rate_hz
        if (isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)) or not rate_hz > 0
                or not math.isfinite(rate_hz)):
            raise GraphError(f"Component '{self.name}': rate_hz must be a positive, finite number of firings per "
                             f"second. Received: rate_hz={rate_hz!r}", code="LK250")
        return float(rate_hz)

    # -- lifecycle (override) ----------------------------------------------------------------------
    def setup(self) -> None:
        """Acquire resources (camera, model). Runs on the target, before the first message."""

    def teardown(self) -> None:
        """Release resources. Runs on every exit path: normal end, stop or error."""

    def initial_outputs(self):
        """Outputs to send once after ``setup()``, to start a closed loop. ``None``: nothing."""
        return None

    # -- ports ------------------------------------------------------------------------------------------
    @property
    def out(self) -> OutputPort:
        """The single output's handle."""
        names = type(self)._lk_outputs
        if len(names) != 1:
            raise GraphError(
                f"Component '{self.name}' has {len(names)} outputs ({', '.join(names) or 'none'}); "
                f"use {self.name}.outputs.<name> instead of .out."
            )
        return self._lk_output_ports[names[0]]

    @property
    def is_source(self) -> bool:
        return not self._lk_input_names

    @property
    def starts_loop(self) -> bool:
        return type(self).initial_outputs is not Component.initial_outputs

    # -- calling ----------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        """With port handles: record edges and return the output handle(s). With values: run forward."""
        values = list(args) + list(kwargs.values())
        for value in values:
            if isinstance(value, _Ports) and value._kind == "output":
                owner = value._component.name
                raise GraphError(
                    f"Component '{self.name}' was called with all the outputs of '{owner}' "
                    f"({', '.join(value._names)}); pass one of them, e.g. {owner}.outputs.{value._names[0]}."
                    if value._names else
                    f"Component '{self.name}' was called with the outputs of '{owner}', which has none."
                )
        handles = [v for v in values if isinstance(v, OutputPort)]
        if not handles:
            return self.forward(*args, **kwargs)
        if len(handles) != len(values):
            raise GraphError(
                f"Component '{self.name}' was called with a mix of port handles and values; "
                "wire every input with a handle (or use a Config field for constants)."
            )
        names = self._lk_input_names
        if len(args) > len(names):
            raise GraphError(f"Component '{self.name}' takes {len(names)} inputs ({', '.join(names)}); got {len(args)} positional.")
        bound = dict(zip(names, args))
        for key, handle in kwargs.items():
            if key in bound:
                raise GraphError(f"Component '{self.name}': input '{key}' given twice.")
            if key not in names:
                raise GraphError(
                    f"Component '{self.name}' has no input named '{key}'. Its inputs: {', '.join(names) or 'none'}."
                )
            bound[key] = handle
        self._lk_wiring.update(bound)
        ports = self._lk_output_ports
        if len(ports) == 1:
            return ports[0]
        return _CallOutputs(ports) if len(ports) else None

    def forward(self, *args, **kwargs):  # pragma: no cover - always overridden
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


_signature_cache: Dict[type, Tuple[Tuple[str, ...], frozenset]] = {}


def _source_location(obj) -> Optional[Location]:
    """Where a class or function is defined (its first line), when Python can find its source."""
    import inspect  # ~10 ms to import: only for an error's location

    try:
        return Location(inspect.getsourcefile(obj) or "", inspect.getsourcelines(obj)[1])
    except (OSError, TypeError):
        return None


def _forward_signature(cls) -> Tuple[Tuple[str, ...], frozenset]:
    if cls in _signature_cache:
        return _signature_cache[cls]
    forward = cls.forward
    if forward is Component.forward:
        raise GraphError(f"{cls.__name__} has no forward() method; a Component must define forward().",
                         _source_location(cls), code="LK254")
    plain = _plain_parameters(forward)
    if plain is not None:
        _signature_cache[cls] = plain
        return plain
    import inspect  # what a plain function's code does not say (decorators, *args)

    names, required = [], set()
    for p in list(inspect.signature(forward).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise GraphError(
                f"{cls.__name__}.forward() takes {'*' if p.kind == p.VAR_POSITIONAL else '**'}{p.name}: "
                "ports cannot be known. Name every input as a parameter.", _source_location(forward), code="LK254",
            )
        names.append(p.name)
        if p.default is p.empty:
            required.add(p.name)
    result = (tuple(names), frozenset(required))
    _signature_cache[cls] = result
    return result


_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08  # a code object's flags for *args and **kwargs


def _plain_parameters(function) -> Optional[Tuple[Tuple[str, ...], frozenset]]:
    """(parameter names after the first, the required ones) of a plain ``def``, read from its code as
    ``inspect.signature`` gives them; None when only ``inspect`` can tell (a wrapper, ``*args``, not a
    function). It spares a Node's start the import of ``inspect``."""
    code = getattr(function, "__code__", None)
    if type(function) is not types.FunctionType or code is None or hasattr(function, "__wrapped__") \
            or hasattr(function, "__signature__") or code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
        return None
    positional = code.co_argcount
    params = code.co_varnames[:positional + code.co_kwonlyargcount]
    first_default = positional - len(function.__defaults__ or ())
    keyword_defaults = function.__kwdefaults__ or {}
    required = {name for i, name in enumerate(params) if i > 0 and (
        i < first_default if i < positional else name not in keyword_defaults)}
    return tuple(params[1:]), frozenset(required)


def forward_annotations(cls) -> Dict[str, Any]:
    """The annotations of forward's parameters and its return (key ``return``), unevaluated when strings."""
    import inspect

    sig = inspect.signature(cls.forward)
    out = {p.name: p.annotation for p in sig.parameters.values() if p.annotation is not p.empty}
    if sig.return_annotation is not sig.empty:
        out["return"] = sig.return_annotation
    return out


