"""Rebuild a Node's components on the target from their recorded construction.

The plan comes from the generated entrypoint (build-time data written by lkbuild), never from a
message: classes are imported from the modules the build recorded, and arguments are plain data.
"""
from __future__ import annotations

import base64
import importlib
import os
import sys
from typing import Any, Dict, Optional

from . import codec, stand_ins
from .errors import ComponentFailure, format_traceback


def resolve_class(entry: Dict[str, Any], finder: Optional[stand_ins.MachineStandIns] = None):
    """The component class of a plan entry, importing its module from the recorded import root.

    With ``finder`` (the machine's stand-ins), module-level code may use the stand-ins while it runs.
    """
    module_name, qualname = entry["module"], entry["qualname"]
    module = sys.modules.get(module_name)
    if module is None:
        main = sys.modules.get("__main__")
        main_file = getattr(main, "__file__", None)
        if main_file and entry.get("file") and os.path.abspath(main_file) == entry["file"]:
            module = main
    if module is None:
        root = entry.get("import_root")
        if root and root not in sys.path:
            sys.path.insert(0, root)
        if finder is not None:
            finder.importing += 1
        try:
            module = importlib.import_module(module_name)
        finally:
            if finder is not None:
                finder.importing -= 1
    codec.register_marked(vars(module))
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def decode_argument(value, cls):
    """Turn one recorded constructor argument back into a Python value."""
    if isinstance(value, list):
        return [decode_argument(v, cls) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$tuple":
            return tuple(decode_argument(v, cls) for v in inner)
        if tag == "$dict":
            return {k: decode_argument(v, cls) for k, v in inner.items()}
        if tag == "$bytes":
            return base64.b64decode(inner)
        if tag == "$float":
            return float(inner)
        if tag == "$node":
            return None  # placement comes from the plan, not from the argument
        if tag == "$config":
            return cls.Config(**{k: decode_argument(v, cls) for k, v in inner.items()})
    return {k: decode_argument(v, cls) for k, v in value.items()}


def build_component(entry: Dict[str, Any], finder: Optional[stand_ins.MachineStandIns] = None):
    """Construct one component exactly as the user's program did."""
    cls = resolve_class(entry, finder)
    construction = entry["construction"]
    args = [decode_argument(v, cls) for v in construction["args"]]
    kwargs = {k: decode_argument(v, cls) for k, v in construction["kwargs"].items()}
    if finder is None:
        return cls(*args, **kwargs)
    finder.building = entry["name"]
    try:
        instance = cls(*args, **kwargs)
    finally:
        finder.building = None
    finder.add_component(entry["name"], instance)
    return instance


def build_entry(plan: Dict[str, Any], entry: Dict[str, Any]):
    """One component of a plan; a failure is the component's, in phase ``__init__``.

    The plan's ``stand_ins`` (modules its files import that no component of the machine uses) are
    stood in for first, so those files import where the modules are not installed. A replayed
    component is not built: a ``record.Player`` sends what it recorded.
    """
    try:
        if entry.get("replay"):
            from .record import Player

            return Player(entry["name"], entry["replay"])
        return build_component(entry, stand_ins.for_plan(plan))
    except Exception:
        raise ComponentFailure(entry["name"], entry.get("node") or plan.get("node", "local"),
                               entry.get("machine") or plan.get("machine") or "local", "__init__",
                               format_traceback()) from None


def build_node(plan: Dict[str, Any]) -> Dict[str, Any]:
    """Every component of a node plan, by name, and the ROS message types its ports carry registered."""
    from . import rosmsg

    instances = {entry["name"]: build_entry(plan, entry) for entry in plan["components"]}
    rosmsg.register_names(plan.get("messages", ()))
    return instances
