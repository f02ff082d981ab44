"""Which types may travel through the codec, and under which names: nothing decodes that is not here.

A dataclass travels under the name it was registered with (``register``, ``lkbuild.message``); a type
with a serializer of its own (ROS messages, ``rosmsg``) under the name given to ``register_external``.
A message naming anything else does not decode. The codec (``codec``) reads these tables.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Tuple

from .errors import CodecError

_registry_by_name: Dict[str, type] = {}
_registry_by_type: Dict[type, str] = {}
# external message types: name -> (class, load) and class -> (name as bytes, dump)
_external_by_name: Dict[str, Tuple[type, Callable[[bytes], Any]]] = {}
_external_by_type: Dict[type, Tuple[bytes, Callable[[Any], bytes]]] = {}


def register(cls=None, *, name: str | None = None):
    """Let a dataclass travel in messages, under ``name`` (default: its qualified name).

    Usable as a decorator: ``@register`` or ``@register(name="Pose")``.
    """

    def apply(klass):
        if not dataclasses.is_dataclass(klass):
            raise CodecError(f"only dataclasses can be registered with the codec. Received: {klass!r}")
        key = name or f"{klass.__module__}.{klass.__qualname__}"
        known = _registry_by_name.get(key)
        if known is not None and known is not klass and known.__qualname__ != klass.__qualname__:
            raise CodecError(f"codec name '{key}' is already registered for {known!r}")
        _registry_by_name[key] = klass
        _registry_by_type[klass] = key
        klass.__lk_message__ = key
        return klass

    return apply(cls) if cls is not None else apply


def register_marked(namespace: Dict[str, Any]) -> None:
    """Register every dataclass in a module namespace that was marked by ``register`` elsewhere."""
    for value in list(namespace.values()):
        if isinstance(value, type) and getattr(value, "__lk_message__", None) and dataclasses.is_dataclass(value):
            _registry_by_name.setdefault(value.__lk_message__, value)
            _registry_by_type.setdefault(value, value.__lk_message__)


def register_external(cls: type, name: str, dump: Callable[[Any], bytes], load: Callable[[bytes], Any]) -> None:
    """Let values of ``cls`` travel as ``name`` plus the bytes ``dump(value)`` makes; ``load(bytes)`` reads them.

    For message types with a serializer of their own (ROS messages: ``rosmsg.register``). Registering the
    same class under the same name again is a no-op; another class under a taken name is refused.
    """
    if not isinstance(cls, type) or not isinstance(name, str) or not name:
        raise CodecError(f"register_external needs a class and a name. Received: {cls!r}, {name!r}")
    known = _external_by_name.get(name)
    if known is not None and known[0] is not cls:
        raise CodecError(f"codec name '{name}' is already registered for {known[0]!r}")
    _external_by_name[name] = (cls, load)
    _external_by_type[cls] = (name.encode("utf-8"), dump)
