"""What each engine puts into a bundle: its config and entrypoints for the machine's Nodes, and its runtime.

A bundle's image always has the same layout, whatever the machine: the venv at ``/opt/venv`` and the
application at ``/app``. So the engine config generated for the bundle (the dora dataflow) is valid in
every machine's container, and the one the coordinator is given equals the one in every bundle.
"""
from __future__ import annotations

import importlib
import re
import sys
from typing import Dict, Optional

from ..errors import ConfigError
from .requirements import installed_version
from .sources import APP

VENV = "/opt/venv"
ROS_PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
VENV_PYTHON = f"{VENV}/bin/python"


class DoraPart:
    """dora: the dataflow (paths inside the image) and M's node entrypoints; the daemon runs M's part."""

    name = "dora"
    runtime = ("dora-rs", "dora-rs-cli", "pyarrow", "numpy")
    message_runtime = ("ros-jazzy-rclpy",)  # ROS-typed ports: the codec (de)serializes with rclpy
    runtime_modules = ("dora", "dora_cli", "pyarrow", "numpy")
    binary = "dora"  # the daemon, from dora-rs-cli

    def config(self, spec, machine: str) -> str:
        return "app/dataflow.yaml"

    def files(self, spec, machine: str, coordinator: Dict[str, object],
              foreign_paths: Optional[Dict[str, str]] = None) -> Dict[str, bytes]:
        """{bundle path: bytes} under ``app/``: the dataflow and only ``machine``'s entrypoints.

        ``foreign_paths``: where the machine's foreign dora nodes are in the image (``bundle.foreign``).
        """
        try:
            generator = importlib.import_module("lkbuild.generators.dora")
        except ImportError:
            raise ConfigError("This lkbuild has no dora generator; bundles for dora cannot be made.") from None
        generated = generator.generate(spec, {
            "root": APP, "python": VENV_PYTHON,
            "coordinator_addr": coordinator["addr"], "coordinator_port": coordinator["port"],
            "foreign_paths": dict(foreign_paths or {}),
        })
        mine = {f"nodes/{n.name}.py" for n in spec.nodes if n.machine == machine}
        on_machine = [f for f in spec.foreign if f.machine == machine]
        if any(f.timers for f in on_machine):
            mine.add("nodes/_lk_timers.py")
        mine |= {f"nodes/_lk_ros.{f.name}.py" for f in on_machine if f.kind == "ros_topic"}
        files: Dict[str, bytes] = {}
        for rel, data in generated.items():
            # Only what runs on this machine: not other machines' entrypoints, not the one-computer
            # dataflow for `dora run`, not the daemon scripts (run.sh starts the daemon in a bundle).
            if not (rel == "dataflow.yaml" or rel in mine):
                continue
            if sys.executable.encode() in data:
                raise ConfigError(f"internal: the dora files for machine '{machine}' name this computer's "
                                  f"Python ({sys.executable}); a bundle must not.")
            files[f"app/{rel}"] = data
        return files

    def commands(self, spec, machine: str):
        """dora starts M's nodes itself (the daemon); run.sh needs no per-node command."""
        return []

    def versions(self) -> Dict[str, str]:
        return {name: installed_version(name) or "unknown" for name in ("dora-rs", "dora-rs-cli")}


class Ros2Part:
    """ROS 2: the system's ament package (M's node modules and M's launch file only), run from source.

    The image has no colcon and no ``ros2`` command (rclpy comes from PyPI wheels: x86_64 only), so
    ``run.sh up`` starts M's node processes itself with the arguments M's launch file gives them.
    """

    name = "ros2"
    runtime = ("ros-jazzy-rclpy[fastrtps]", "ros-jazzy-std-msgs", "numpy")
    message_runtime = ()  # rclpy is the runtime already
    runtime_modules = ("rclpy", "std_msgs", "numpy")
    binary = None
    root = "app/ros2"

    def config(self, spec, machine: str) -> str:
        return f"{self.root}/src/{spec.name}/launch/{machine}.launch.py"

    def files(self, spec, machine: str, coordinator: Dict[str, object], foreign_paths=None) -> Dict[str, bytes]:
        if not ROS_PACKAGE.match(spec.name):
            raise ConfigError(f"System name '{spec.name}' cannot name a ROS 2 package; use lowercase letters, "
                              "digits and '_', starting with a letter (REP 144).")
        generator = self._generator()
        pkg, pypkg = spec.name, generator.python_package(spec.name)
        keep_nodes = {f"src/{pkg}/{pypkg}/node_{n.name}.py" for n in spec.nodes if n.machine == machine}
        files: Dict[str, bytes] = {}
        for rel, data in generator.generate(spec, {}).items():
            if rel.startswith(f"src/{pkg}/{pypkg}/node_") and rel not in keep_nodes:
                continue  # another machine's node
            if rel.startswith(f"src/{pkg}/launch/") and rel != f"src/{pkg}/launch/{machine}.launch.py":
                continue  # the whole system's launch file, other machines' launch files
            files[f"{self.root}/{rel}"] = data
        return files

    def commands(self, spec, machine: str):
        """{node: argv after the interpreter} for M's nodes, as M's launch file starts them."""
        generator = self._generator()
        pkg, pypkg = spec.name, generator.python_package(spec.name)
        params = f"{APP}/ros2/src/{pkg}/config/params.yaml"
        return [{"node": n.name, "module": f"{pypkg}.node_{n.name}",
                 "ros_args": generator.ros_arguments(pkg, params)}
                for n in spec.nodes if n.machine == machine]

    def python_path(self, spec) -> str:
        return f"{APP}/ros2/src/{spec.name}"

    def versions(self) -> Dict[str, str]:
        return {name: installed_version(name) or "unknown" for name in ("ros-jazzy-rclpy", "ros-jazzy-std-msgs")}

    @staticmethod
    def _generator():
        try:
            return importlib.import_module("lkbuild.generators.ros2")
        except ImportError:
            raise ConfigError("This lkbuild has no ros2 generator; bundles for ros2 cannot be made.") from None


PARTS = {"dora": DoraPart, "ros2": Ros2Part}


def engine_part(name: str):
    """The bundle part for an engine; ConfigError lists the engines bundles support."""
    part = PARTS.get(name)
    if part is None:
        raise ConfigError(f"Bundles support the engines: {', '.join(sorted(PARTS))}. Received: engine={name!r}. "
                          "Use --engine dora or --engine ros2.")
    return part()

