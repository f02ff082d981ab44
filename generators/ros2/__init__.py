"""The ROS 2 generator: one ament_python package per system, in a colcon workspace.

Targets ROS 2 **Jazzy Jalisco** (the LTS the PyPI wheels pin: ``ros-jazzy-rclpy``). The packages use only
APIs that exist unchanged since Humble (rclpy nodes, publishers, subscriptions, timers, parameters,
``launch_ros.actions.Node``), so they also build and run on Humble and Kilted; Jazzy is what the tests run.

``generate(spec, options)`` returns ``{path: bytes}`` relative to the workspace (``.lk_build/ros2``):

    src/<system>/package.xml            format 3, real dependencies
    src/<system>/setup.py, setup.cfg    executables installed under lib/<system>
    src/<system>/resource/<system>      ament index marker
    src/<system>/README.md
    src/<system>/<system>_lkbuild/node_<node>.py   one executable per lkbuild Node (its plan embedded)
    src/<system>/config/params.yaml     component configs as ROS parameters
    src/<system>/launch/<system>.launch.py and launch/<machine>.launch.py
    src/<system>/test/test_package.py   what ``colcon test`` runs

The node executables import the runtime as ``lkbuild.runtime_stubs.lk_runtime``, the one name lkbuild's
API imports it by (one module, one message registry): the package needs lkbuild (its API and runtime,
which import no build-time dependency) on the Python path, installed or, in a bundle, from its ``src/``.

Options (all optional): ``maintainer``, ``email``, ``license``, ``version``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

from ..templating import render
from . import interfaces

PACKAGE = "lkbuild.generators.ros2"
DEFAULTS = {"maintainer": "lkbuild", "email": "maintainer@example.com", "license": "Apache-2.0",
            "version": "0.1.0"}
# Python distributions components commonly import, and their rosdep keys.
ROSDEP_KEYS = {
    "numpy": "python3-numpy", "opencv-python": "python3-opencv", "opencv-python-headless": "python3-opencv",
    "pyyaml": "python3-yaml", "scipy": "python3-scipy", "requests": "python3-requests",
    "pillow": "python3-pil", "matplotlib": "python3-matplotlib", "pyserial": "python3-serial",
    "torch": "python3-torch", "transforms3d": "python3-transforms3d",
}


def python_package(system: str) -> str:
    """The Python package inside the ROS package. Not the system's name: that is often the name of the
    user's own module (robot.py defines system 'robot'), which the node processes must import."""
    return f"{system}_lkbuild"


def executable(node: str) -> str:
    """The console script of an lkbuild Node (``ros2 run <system> <node>``)."""
    return node


def params_file_key(system: str, component: str) -> str:
    """The node name a parameter file addresses: the component's ROS node in the system's namespace."""
    return f"/{system}/{component}"


# The launch file's arguments: default and description, for every run setting (``lk_runtime.settings``).
LAUNCH_ARGUMENTS = {
    "iterations": ("", "each source fires N times, then the system drains and stops"),
    "record_dir": ("", "record every message sent into this directory"),
    "realtime": ("true", "false: fire sources as fast as possible"),
    "run_id": ("", "the run's id: statuses of processes of another run are ignored"),
    "profile": ("false", "true: measure the run (lkbuild launch --profile)"),
}


def node_arguments() -> List[List[str]]:
    """The lkbuild options every executable takes, as (flag, launch argument) pairs, in order."""
    from ...runtime_stubs.lk_runtime.settings import FLAGS

    return [[flag, name] for flag, name in FLAGS]


def launch_arguments() -> List[List[str]]:
    """``[name, default, description]`` of every launch argument, in the executables' order."""
    return [[name, *LAUNCH_ARGUMENTS[name]] for _, name in node_arguments()]


def ros_arguments(system: str, params_file: str) -> List[str]:
    """What follows ``--ros-args`` for every executable, as ``launch_ros`` writes it for our Node(...)."""
    return ["-r", f"__ns:=/{system}", "--params-file", params_file]


def generate(spec, options: Dict[str, Any] | None = None) -> Dict[str, bytes]:
    """Every file of the workspace, by relative path. Pure and deterministic."""
    from ...graph.plan import node_plan

    opts = {**DEFAULTS, **(options or {})}
    pkg = spec.name
    pypkg = python_package(pkg)
    root = f"src/{pkg}"
    topics = interfaces.topics(spec)
    files: Dict[str, bytes] = {}
    context = {
        "pkg": pkg,
        "pypkg": pypkg,
        "spec": spec,
        "opts": opts,
        "nodes": [n.name for n in spec.nodes],
        "machines": _machines(spec),
        "msg_packages": interfaces.message_packages(topics, interfaces.ros_messages(spec)),
        "python_deps": _python_deps(spec),
        "topics": topics,
        "arguments": node_arguments(),
    }
    files[f"{root}/package.xml"] = render(PACKAGE, "package.xml.j2", **context)
    files[f"{root}/setup.py"] = render(PACKAGE, "setup.py.j2", **context)
    files[f"{root}/setup.cfg"] = render(PACKAGE, "setup.cfg.j2", **context)
    files[f"{root}/resource/{pkg}"] = b""
    files[f"{root}/README.md"] = render(PACKAGE, "README.md.j2", **context)
    files[f"{root}/{pypkg}/__init__.py"] = render(PACKAGE, "init.py.j2", **context)
    files[f"{root}/test/test_package.py"] = render(PACKAGE, "test_package.py.j2", **context)
    files[f"{root}/config/params.yaml"] = _params_yaml(spec)
    for node in spec.nodes:
        plan = node_plan(spec, node.name)
        plan["ros2"] = interfaces.node_interfaces(spec, node.name, topics)
        # Readable in the generated file as a raw triple-quoted string: with every quote escaped as \u0027
        # (still the same JSON) no user name can close the string.
        text = json.dumps(plan, sort_keys=True, indent=2).replace("'", "\\u0027")
        files[f"{root}/{pypkg}/node_{node.name}.py"] = render(
            PACKAGE, "node.py.j2", pkg=pkg, node=node, plan_json=text,
            messages=interfaces.message_imports(interfaces.ros_messages(spec, node.name)))
    launch = {"pkg": pkg, "arguments": node_arguments(), "declared": launch_arguments()}
    files[f"{root}/launch/{pkg}.launch.py"] = render(
        PACKAGE, "launch.py.j2", **launch, title=f"every node of system '{pkg}'", nodes=list(spec.nodes))
    for machine, members in context["machines"].items():
        files[f"{root}/launch/{machine}.launch.py"] = render(
            PACKAGE, "launch.py.j2", **launch, title=f"the nodes of system '{pkg}' on machine '{machine}'",
            nodes=members)
    return files


def code_digest(spec) -> str:
    """What the colcon build depends on: every generated file but with the config values that travel
    as ROS parameters masked (their types kept). Two specs with the same digest differ only in parameter
    values, which reach the nodes through the params file, read at launch: no rebuild needed."""
    import dataclasses
    import hashlib

    from ...runtime_stubs.lk_runtime.ros2_wire import patch_config

    components = []
    for c in spec.components:
        masked = {key: f"<{type(value).__name__}>" for key, value in interfaces.parameters(c.config).items()}
        construction, _ = patch_config(c.construction, masked)
        components.append(dataclasses.replace(c, config={**c.config, **masked}, construction=construction))
    files = generate(dataclasses.replace(spec, components=tuple(components)))
    files.pop(f"src/{spec.name}/config/params.yaml")
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


def params_file(workspace, system: str):
    """The params file lkbuild launches with: the one compile wrote last (not the installed copy)."""
    return workspace / "src" / system / "config" / "params.yaml"


def _machines(spec) -> Dict[str, list]:
    out: Dict[str, list] = {}
    for node in spec.nodes:
        if node.machine:
            out.setdefault(node.machine, []).append(node)
    return dict(sorted(out.items()))


def _python_deps(spec) -> List[str]:
    """rosdep keys for the Python distributions the components import (numpy always: the codec uses it)."""
    keys = {"python3-numpy"}
    for c in spec.components:
        for requirement in c.requirements:
            name = requirement.split(";")[0].split("[")[0]
            for sep in "<>=!~ ":
                name = name.split(sep)[0]
            key = ROSDEP_KEYS.get(name.strip().lower())
            if key:
                keys.add(key)
    return sorted(keys)


def _params_yaml(spec) -> bytes:
    import yaml

    data = {}
    for c in spec.components:
        params = interfaces.parameters(c.config)
        if params:
            data[params_file_key(spec.name, c.name)] = {"ros__parameters": params}
    if not data:
        data["/**"] = {"ros__parameters": {}}
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False).encode()
