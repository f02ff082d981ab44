"""What each machine needs: the union of its components' requirements, and what it may stand in for.

A component's requirements are the imports its class really uses (``lkbuild.inspect``); one ``robot.py``
usually imports every machine's SDKs at its top, so a machine installs only what its own components use
(plus the ROS message packages of the ports they publish or subscribe), and a module its files import
but none of its components uses is stood in for in its processes (``lk_runtime.stand_ins``).
"""
from __future__ import annotations

from typing import Dict, List, Optional

from ..node import LOCAL_MACHINE as LOCAL  # Nodes without a machine run on the computer that launches them

# Installed on every machine whatever its components use: the codec's (every engine's runtime has it).
RUNTIME_MODULES = frozenset({"numpy"})


def machine_of(spec, component: str) -> str:
    return spec.node_of(component).machine or LOCAL


def components_on(spec, machine: Optional[str]):
    """The components placed on ``machine`` (``None`` or ``"local"``: on Nodes without a machine)."""
    machine = machine or LOCAL
    return [c for c in spec.components if machine_of(spec, c.name) == machine]


def message_requirement(package: str) -> str:
    """The distribution that installs a ROS message package without a ROS install (``ros-jazzy-*``)."""
    from importlib import metadata  # ~17 ms to import: only for systems with ROS message ports

    name = f"ros-jazzy-{package.replace('_', '-')}"
    try:
        return f"{name}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


def message_packages(spec, machine: Optional[str]) -> List[str]:
    """The ROS message packages (``sensor_msgs``) of the ports that ``machine``'s Nodes publish or subscribe."""
    from .plan import messages

    nodes = {spec.node_of(c.name).name for c in components_on(spec, machine)}
    return sorted({name.split("/")[0] for node in nodes for name in messages(spec, node)})


def requirements(spec, machine: Optional[str]) -> Dict[str, List[str]]:
    """``{requirement: [why, ...]}``: the machine's components' requirements and its ports' message packages."""
    found: Dict[str, List[str]] = {}
    for c in components_on(spec, machine):
        for requirement in c.requirements:
            found.setdefault(requirement, []).append(f"component '{c.name}'")
    for package in message_packages(spec, machine):
        found.setdefault(message_requirement(package), []).append(f"ROS messages of package '{package}' on its ports")
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def stand_ins(spec, node: str) -> Dict[str, List[str]]:
    """Modules the Node's files import that no component of its machine uses -> the components that do.

    Those are not installed on the machine; its processes stand in for them so the files still import.
    """
    machine = spec.node(node).machine or LOCAL
    used_here = {i.module for c in components_on(spec, machine) for i in c.imports if i.used}
    mine = [spec.component(name) for name in spec.node(node).components]
    modules = sorted({i.module for c in mine for i in c.imports if not i.used} - used_here - RUNTIME_MODULES)
    return {
        module: sorted(f"component '{c.name}' on machine '{machine_of(spec, c.name)}'"
                       for c in spec.components for i in c.imports if i.module == module and i.used)
        for module in modules
    }

