"""Where components run: ``Node`` (one OS process) on a ``Machine``."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Optional, Tuple, Union

from .errors import ConfigError, user_location

LOCAL_NODE = "local"
LOCAL_MACHINE = "local"


@dataclass(frozen=True)
class Machine:
    """A computer that runs one or more Nodes.

    Example:
        >>> jetson = Machine.preset("jetson", name="jetson", host="192.168.1.10")
        >>> jetson.arch
        'aarch64'
    """

    name: str
    host: Optional[str] = None
    arch: str = "x86_64"
    platform: str = "linux"
    python: str = "3.11"
    base_image: Optional[str] = None
    devices: Tuple[str, ...] = field(default_factory=tuple)
    preset: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"Machine name must be a non-empty string. Received: name={self.name!r}")
        if self.arch not in PIP_PLATFORMS:
            raise ConfigError(f"Machine '{self.name}': unknown arch {self.arch!r}; use one of "
                              f"{', '.join(sorted(PIP_PLATFORMS))}.")
        if isinstance(self.devices, str):
            raise ConfigError(f"Machine '{self.name}': devices must be a list of paths. "
                              f"Received: devices={self.devices!r}")
        object.__setattr__(self, "devices", tuple(self.devices))

    @property
    def pip_platforms(self) -> Tuple[str, ...]:
        """The ``pip download --platform`` tags for this machine's wheels."""
        return PIP_PLATFORMS[self.arch]


def _from_preset(preset: str, name: Optional[str] = None, **overrides) -> Machine:
    """A Machine from a platform preset (see ``PRESETS``); keyword arguments override fields."""
    if preset not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"Unknown machine preset '{preset}'. Known presets: {known}.")
    base = PRESETS[preset]
    return replace(base, name=name or preset, preset=preset, **overrides)


# Attached after the class body: defined inside it, the method would become the default value of the
# ``preset`` field (every Machine would then carry a function, which cannot be written to system.json).
Machine.preset = staticmethod(_from_preset)  # type: ignore[assignment]

PIP_PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64"),
    "aarch64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64"),
}

# A preset's Python has wheels for what every bundle installs (dora-rs 1.1 is abi3 from CPython 3.11; numpy 2.4
# has none below 3.11). Without a base image, a bundle uses python:X.Y-slim-bookworm for the machine's
# architecture: it has `python3 -m venv`. A Jetson on JetPack 6 (system Python 3.10) runs that image too;
# give base_image= an L4T image only when its Python is the preset's.
PRESETS = {
    "x86_64-linux": Machine("x86_64-linux", arch="x86_64", python="3.11"),
    "jetson": Machine("jetson", arch="aarch64", python="3.12", devices=("/dev/nvhost-ctrl",)),
    "raspberry-pi": Machine("raspberry-pi", arch="aarch64", python="3.11"),
}

_MACHINE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _looks_like_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return "." in text or ":" in text


RESTART_POLICIES = ("never", "on-failure", "always")


def _restart_options(node: str, restart, max_restarts, restart_delay):
    """Checked restart options of a Node (dora's ``restart_policy``, ``max_restarts``, ``restart_delay``)."""
    if restart is not None and restart not in RESTART_POLICIES:
        raise ConfigError(f"Node '{node}': restart must be one of {', '.join(RESTART_POLICIES)}. "
                          f"Received: restart={restart!r}")
    if max_restarts is not None and (isinstance(max_restarts, bool) or not isinstance(max_restarts, int)
                                     or max_restarts < 0):
        raise ConfigError(f"Node '{node}': max_restarts must be an int >= 0. Received: max_restarts={max_restarts!r}")
    if restart_delay is not None and (isinstance(restart_delay, bool) or not isinstance(restart_delay, (int, float))
                                      or not 0 <= restart_delay < float("inf")):
        raise ConfigError(f"Node '{node}': restart_delay must be seconds >= 0. "
                          f"Received: restart_delay={restart_delay!r}")
    if restart in (None, "never") and (max_restarts is not None or restart_delay is not None):
        raise ConfigError(f"Node '{node}': max_restarts and restart_delay need restart='on-failure' or 'always'.")
    return restart, max_restarts, None if restart_delay is None else float(restart_delay)


class Node:
    """One OS process that hosts components, on a machine, with an engine.

    ``restart`` (dora): ``"on-failure"`` restarts the node's process when it fails (a component
    raised, the process was killed), ``"always"`` also when it ends; at most ``max_restarts`` times,
    ``restart_delay`` seconds apart. A restarted node sets its components up again from their
    recorded construction: their state is not kept.

    ``machine`` is a machine name (``"nuc"``), an address (``"192.168.1.10"``: the machine is then
    named after the node, as ``dora daemon --machine-id <node>`` expects), or a ``Machine``.

    Example:
        >>> vision = Node("jetson", machine="192.168.1.10", engine="dora")
        >>> vision.machine.name, vision.machine.host
        ('jetson', '192.168.1.10')
    """

    def __init__(self, name: str, machine: Union[str, Machine, None] = None, engine: Optional[str] = None,
                 restart: Optional[str] = None, max_restarts: Optional[int] = None,
                 restart_delay: Optional[float] = None):
        self._lk_created_at = user_location()
        if not isinstance(name, str) or not name:
            raise ConfigError(f"Node name must be a non-empty string. Received: name={name!r}")
        self.name = name
        self.engine = _checked_engine(name, engine)
        self.machine = self._resolve_machine(name, machine)
        self.restart, self.max_restarts, self.restart_delay = _restart_options(name, restart, max_restarts,
                                                                               restart_delay)

    @staticmethod
    def _resolve_machine(node_name: str, machine) -> Optional[Machine]:
        if machine is None or isinstance(machine, Machine):
            return machine
        if isinstance(machine, str) and machine:
            if _looks_like_address(machine):
                return Machine(node_name, host=machine)
            if _MACHINE_NAME.match(machine):
                return Machine(machine)
        raise ConfigError(
            f"Node '{node_name}': machine must be a machine name, an address or a Machine(...). "
            f"Received: machine={machine!r} (of type {type(machine).__name__})"
        )

    def __repr__(self) -> str:
        machine = self.machine.name if self.machine else None
        return f"Node({self.name!r}, machine={machine!r}, engine={self.engine!r})"


def _checked_engine(node: str, engine) -> Optional[str]:
    try:
        from .engines import ENGINES  # the registry only: no engine module is imported
    except ImportError:  # a deploy bundle carries the API without the engines; its build checked this
        return engine
    if engine is None or isinstance(engine, str) and engine in ENGINES:
        return engine
    raise ConfigError(f"Node '{node}': unknown engine {engine!r}. Known engines: {', '.join(sorted(ENGINES))}.")
