"""``lkbuild.message``: let a dataclass travel between components, on every engine."""
from __future__ import annotations

from .errors import CodecError
from .runtime_stubs.lk_runtime import codec
from .runtime_stubs.lk_runtime.errors import CodecError as WireCodecError


def message(cls=None, *, name: str | None = None):
    """Register a dataclass with the message codec, under ``name`` (default: its qualified name).

    Example:
        >>> from dataclasses import dataclass
        >>> @message
        ... @dataclass
        ... class Pose:
        ...     x: float = 0.0

    Raises:
        CodecError: ``cls`` is not a dataclass, or ``name`` is taken by another class.
    """

    def apply(klass):
        try:
            return codec.register(klass, name=name)
        except WireCodecError as exc:
            raise CodecError(str(exc)) from None

    return apply(cls) if cls is not None else apply
