"""Engine registry: ``get_engine(name)`` returns a ready engine; ``ENGINES`` lists what is known."""
from __future__ import annotations

import importlib
from typing import Dict

from ..errors import ConfigError
from .base import Engine, as_spec

# name -> "module:Class"; modules load only when the engine is used.
ENGINES: Dict[str, str] = {
    "native": "lkbuild.engines.native:NativeEngine",
    "ros2": "lkbuild.engines.ros2:Ros2Engine",
    "dora": "lkbuild.engines.dora:DoraEngine",
}


def get_engine(name: str, **options) -> Engine:
    """An engine instance by name. Raises ConfigError listing the known engines."""
    target = ENGINES.get(name)
    if target is None:
        raise ConfigError(f"Unknown engine '{name}'. Known engines: {', '.join(sorted(ENGINES))}.")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


__all__ = ["ENGINES", "Engine", "as_spec", "get_engine"]
