"""Errors raised on the target. lk_runtime imports nothing from lkbuild."""
from typing import Optional


def format_traceback(exc: Optional[BaseException] = None) -> str:
    """The traceback of ``exc``, or of the exception being handled; ``traceback`` is imported only then (a
    Node that does not fail does not pay for it)."""
    import traceback

    if exc is None:
        return traceback.format_exc()
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class CodecError(ValueError):
    """A value cannot be encoded, or bytes are not a valid message."""


class ComponentFailure(RuntimeError):
    """A component raised; carries its name, node, machine, the phase and the original traceback."""

    def __init__(self, component: str, node: str, machine: str, phase: str, traceback_text: str):
        self.component = component
        self.node = node
        self.machine = machine
        self.phase = phase
        self.traceback_text = traceback_text
        super().__init__(
            f"component '{component}' (node '{node}', machine '{machine}') raised in {phase}():\n"
            f"{traceback_text.rstrip()}"
        )
