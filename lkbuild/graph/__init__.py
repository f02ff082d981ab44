"""The IR: frozen dataclasses that describe a system, its JSON form and its validation."""
from .spec import (
    DEFAULT_QUEUE_SIZE,
    QUEUE_POLICIES,
    SCHEMA_VERSION,
    ComponentSpec,
    EdgeSpec,
    FieldSpec,
    ForeignSpec,
    ImportSpec,
    MachineSpec,
    NodeSpec,
    PortSpec,
    SystemSpec,
)
from .validate import problems

__all__ = [
    "DEFAULT_QUEUE_SIZE", "QUEUE_POLICIES", "SCHEMA_VERSION", "ComponentSpec", "EdgeSpec", "FieldSpec", "ForeignSpec", "ImportSpec",
    "MachineSpec", "NodeSpec", "PortSpec", "SystemSpec", "problems",
]
