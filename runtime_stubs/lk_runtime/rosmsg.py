"""ROS message classes as codec values: ports annotated with one carry it on every engine.

A ROS message travels as the codec's ``R`` value: its type name (``geometry_msgs/msg/Pose``) and the
bytes ``rclpy.serialization.serialize_message`` makes, so every engine records the same hashes and the
ROS 2 adapter can publish those bytes on a topic as they are. Which classes may decode is decided by
what the build saw (port annotations, listed in the node plan's ``messages``), never by a name in a
message: the ROS 2 entrypoints import their classes as generated source, the native engine and dora
nodes resolve the names their plan lists. Nothing here imports rclpy until a ROS message type is actually registered.
"""
from __future__ import annotations

import importlib
import re
from typing import Any, Dict, Iterable, Optional

from . import codec

# A ROS message class, as its annotation reads evaluated (sensor_msgs.msg._image.Image) or written
# (sensor_msgs.msg.Image). Only names of this shape are ever imported.
MESSAGE = re.compile(r"^([a-z][a-z0-9_]*)\.msg(?:\._[a-z0-9_]+)?\.([A-Z][A-Za-z0-9]*)$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def type_name(annotation: Optional[str]) -> Optional[str]:
    """``pkg/msg/Name`` for an annotation naming a ROS message class; None for anything else."""
    match = MESSAGE.match((annotation or "").strip())
    return f"{match.group(1)}/msg/{match.group(2)}" if match else None


def qualify(annotation: Optional[str], namespace: Dict[str, Any]) -> Optional[str]:
    """The full name of a ROS message class that a string annotation names in ``namespace``, else the text.

    With ``from __future__ import annotations`` a port annotated ``-> Pose`` reads "Pose"; looked up (by
    attribute, nothing evaluated) in the module that wrote it, it is ``geometry_msgs.msg._pose.Pose``.
    """
    if not annotation or not _DOTTED.match(annotation) or type_name(annotation):
        return annotation
    head, *rest = annotation.split(".")
    obj = namespace.get(head)
    for part in rest:
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and type_name(f"{obj.__module__}.{obj.__qualname__}"):
        return f"{obj.__module__}.{obj.__qualname__}"
    return annotation


def install_hint(package: str) -> str:
    """How to get a message package where no ROS 2 install provides it."""
    return (f"pip install ros-jazzy-{package.replace('_', '-')} (or, with a ROS 2 install, "
            f"apt install ros-jazzy-{package.replace('_', '-')} and source its setup file)")


def resolve(name: str):
    """The class of ``pkg/msg/Name``, imported from ``pkg.msg``. Raises ImportError naming what to install.

    ``name`` must come from build-time data (the IR's annotations), never from a received message.
    """
    package, kind, cls_name = (name.split("/") + ["", ""])[:3]
    if kind != "msg" or name.count("/") != 2 or not MESSAGE.match(f"{package}.msg.{cls_name}"):
        raise ValueError(f"not a ROS message type: {name!r}")
    try:
        module = importlib.import_module(f"{package}.msg")
    except ImportError as exc:
        detail = "" if (exc.name or "").split(".")[0] == package else f" ({exc})"
        raise ImportError(f"the ROS message package '{package}' is not installed here{detail}; "
                          f"install it with: {install_hint(package)}") from None
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        raise ImportError(f"the ROS message package '{package}' has no message '{cls_name}'")
    return cls


def register(cls, name: Optional[str] = None) -> None:
    """Let values of the ROS message class ``cls`` travel through the codec as ``pkg/msg/Name``."""
    from rclpy.serialization import deserialize_message, serialize_message

    name = name or type_name(f"{cls.__module__}.{cls.__name__}")
    if name is None:
        raise ValueError(f"{cls!r} is not a ROS message class")
    codec.register_external(cls, name, serialize_message, lambda data: deserialize_message(data, cls))


def register_all(messages: Dict[str, Any]) -> None:
    """Register ``{pkg/msg/Name: class}`` (what a generated ROS 2 entrypoint imported)."""
    for name, cls in sorted(messages.items()):
        register(cls, name)


def register_names(names: Iterable[str]) -> None:
    """Register the ROS message types a node plan lists (the build read them from the port annotations).

    A message package that cannot be imported here is skipped: its values cannot be made here either, and
    a message naming it then fails to decode.
    """
    for name in names:
        try:
            register(resolve(name), name)
        except ImportError:
            continue
