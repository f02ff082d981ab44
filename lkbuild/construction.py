"""Recorded construction: the arguments a component was built with, as JSON-able data (``get_config`` style).

The target process rebuilds each component from this record; see docs/design.md for the tags.
"""
from __future__ import annotations

import base64
import dataclasses
import math
from typing import Any, Dict

from .errors import GraphError
from .node import Node


def encode_construction(component) -> Dict[str, Any]:
    """The arguments the component was built with, as JSON-able data (``get_config`` style).

    Raises:
        GraphError: an argument is not serializable; names the component and the argument.
    """
    args, kwargs = component._lk_construction
    cls = type(component)
    import inspect  # only where the system is compiled, not where a Node runs

    try:
        bound = inspect.signature(cls.__init__).bind(component, *args, **kwargs)
        arg_names = list(bound.arguments)[1:1 + len(args)]
    except TypeError:
        arg_names = [f"#{i}" for i in range(len(args))]
    config_cls = getattr(cls, "Config", None)

    def enc(value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                return {"$float": repr(value)}
            return value
        if isinstance(value, list):
            return [enc(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"$tuple": [enc(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise _unserializable(component, where, bad[0], "dict keys must be strings")
            items = {k: enc(v, f"{where}[{k!r}]") for k, v in value.items()}
            if any(k.startswith("$") for k in items):
                return {"$dict": items}
            return items
        if isinstance(value, bytes):
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        if isinstance(value, Node):
            return {"$node": value.name}
        if config_cls is not None and isinstance(value, config_cls):
            return {"$config": {f.name: enc(getattr(value, f.name), f"{where}.{f.name}")
                                for f in dataclasses.fields(value)}}
        raise _unserializable(component, where, value, "")

    return {
        "args": [enc(v, n) for v, n in zip(args, arg_names)],
        "kwargs": {k: enc(v, k) for k, v in kwargs.items()},
    }


def _unserializable(component, where, value, why) -> GraphError:
    return GraphError(
        f"Component '{component.name}': constructor argument '{where}' cannot be recorded "
        f"({why or f'value of type {type(value).__name__}'}). Arguments must be numbers, strings, bools, "
        "None, bytes, lists/tuples/dicts of those, the component's Config, or a Node. "
        "Create other objects in setup() instead.",
        component._lk_created_at, code="LK253",
    )
