"""Errors raised on the target. lk_runtime imports nothing from lkbuild."""


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
