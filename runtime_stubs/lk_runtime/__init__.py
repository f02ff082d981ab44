"""lk_runtime: what runs on the robot — the host loop, the codec, the engine adapters.

Imports nothing from lkbuild: it is copied into every build and bundle.
"""
from .errors import CodecError, ComponentFailure

__all__ = ["CodecError", "ComponentFailure"]
