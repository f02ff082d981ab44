"""lkbuild: write a robot once as Python Components, compile it to native, dora-rs, ROS 2 and bundles.

Importing lkbuild is light: jinja2, libcst, click, yaml and docker load only where they are used.

Example:
    >>> from lkbuild import Component, System, Node
"""
from .component import Component, InputPort, OutputPort
from .errors import (
    CodecError, ComponentError, ConfigError, GraphError, InspectError, LkbuildError, UserError,
)
from .foreign import DoraNode, RosTopic
from .node import PRESETS, Machine, Node
from .messages import message
from .system import System

__version__ = "0.1.0"

__all__ = [
    "CodecError", "Component", "ComponentError", "ConfigError", "DoraNode", "GraphError", "InputPort", "InspectError",
    "LkbuildError", "Machine", "Node", "OutputPort", "PRESETS", "RosTopic", "System", "UserError", "message",
]
