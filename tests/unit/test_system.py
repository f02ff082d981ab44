"""System: the three ways of wiring, placement on Nodes and Machines, the IR it produces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import lkbuild.system
from lkbuild import PRESETS, Component, ConfigError, GraphError, Machine, Node, System
from lkbuild.errors import Location
from lkbuild.graph import MachineSpec, NodeSpec


class Camera(Component):
    def __init__(self, name="camera", node=None):
        super().__init__(name, node=node)

    def forward(self) -> np.ndarray:
        return np.zeros(2)


class Detector(Component):
    def __init__(self, name="detector", node=None):
        super().__init__(name, node=node)

    def forward(self, image: np.ndarray, odom=None) -> float:
        return float(image.sum())


class Planner(Component):
    outputs = ()

    def __init__(self, name="planner", node=None):
        super().__init__(name, node=node)

    def forward(self, score: float):
        return None


class Split(Component):
    outputs = ("left", "right")

    def forward(self, x):
        return (x, x)


class Fuse(Component):
    def forward(self, a, b):
        return a


class Logger(Component):
    outputs = ()

    def forward(self, x=None):
        return None


class Wants(Component):
    outputs = ()

    def forward(self, text: str):
        return None


def edges(system):
    return [str(e) for e in system.spec().edges]


# -- three ways of wiring, one graph -----------------------------------------------------------------------
def test_sequential_functional_and_explicit_wiring_give_the_same_edges():
    expected = ["camera.out -> detector.image", "detector.out -> planner.score"]

    camera, detector, planner = Camera(), Detector(), Planner()
    assert edges(System(components=[camera, detector, planner])) == expected

    camera, detector, planner = Camera(), Detector(), Planner()
    planner(score=detector(image=camera.out))
    assert edges(System(components=[camera, detector, planner])) == expected

    camera, detector, planner = Camera(), Detector(), Planner()
    system = System(components=[camera, detector, planner])
    system.connect(camera.out, detector.inputs.image)
    system.connect(detector.out, planner.inputs.score)
    assert edges(system) == expected

    camera, detector, planner = Camera(), Detector(), Planner()
    system = System()
    for c in (camera, detector, planner):
        assert system.add(c) is c
    detector(camera.out)  # positional: the first input
    system.connect(detector.out, planner.inputs.score)
    assert sorted(edges(system)) == expected


def test_sequential_wiring_chains_into_a_single_optional_input():
    camera, logger = Camera(), Logger()
    assert edges(System(components=[camera, logger])) == ["camera.out -> logger.x"]


def test_several_outputs_wire_by_name_or_by_unpacking():
    camera, split, fuse = Camera(), Split(), Fuse()
    left, right = split(x=camera.out)
    fuse(a=right, b=split.outputs.left)
    assert sorted(edges(System(components=[camera, split, fuse]))) == [
        "camera.out -> split.x", "split.left -> fuse.b", "split.right -> fuse.a",
    ]


@pytest.mark.parametrize("build, message", [
    (lambda: [Camera(), Split(), Detector()],
     "Cannot chain 'split' -> 'detector' sequentially: 'split' has 2 outputs (left, right). Wire them explicitly, "
     "e.g. detector(image=split.outputs.left) or system.connect(src, detector.inputs.<name>)."),
    (lambda: [Camera(), Fuse()],
     "Cannot chain 'camera' -> 'fuse' sequentially: 'fuse' has 2 required inputs (a, b). Wire them explicitly, "
     "e.g. fuse(a=camera.out) or system.connect(src, fuse.inputs.<name>)."),
    (lambda: [Camera(), Camera("camera2")],
     "Cannot chain 'camera' -> 'camera2' sequentially: 'camera2' has 0 required inputs (none). Wire them "
     "explicitly, e.g. camera2(<input>=camera.out) or system.connect(src, camera2.inputs.<name>)."),
])
def test_ambiguous_sequential_wiring_says_how_to_wire_explicitly(build, message):
    components = build()
    with pytest.raises(GraphError) as err:
        System(components=components).spec()
    assert err.value.message == message
    assert err.value.location.file == __file__


def test_a_wired_component_missing_from_the_system_is_named():
    camera, detector = Camera(), Detector()
    detector(image=camera.out)
    with pytest.raises(GraphError) as err:
        System(components=[detector]).spec()
    assert err.value.message == (
        "component 'camera' is wired into system 'system' but is not one of its components; "
        "add it to System(components=[...])."
    )


def test_only_components_and_handles_are_accepted():
    with pytest.raises(GraphError) as err:
        System(components=[Camera(), "detector"], name="robot")
    assert err.value.message == (
        "System 'robot': components must be Component, DoraNode or RosTopic instances. Received: 'detector' "
        "(of type str)"
    )
    system = System(components=[Camera(), Detector()])
    camera, detector = system.components
    with pytest.raises(GraphError, match=r": connect\(src, dst\): src must be an output handle such as camera\.out\."):
        system.connect(camera, detector.inputs.image)
    with pytest.raises(GraphError, match=r": connect\(src, dst\): dst must be an input handle such as "):
        system.connect(camera.out, detector)
    with pytest.raises(GraphError, match=": System.add expects a Component"):
        system.add(Camera)


# -- the IR of the components --------------------------------------------------------------------------------
def test_component_specs_record_class_ports_construction_and_annotations():
    camera, detector = Camera(), Detector()
    spec = System(components=[camera, detector], name="robot").spec()
    det = spec.component("detector")
    assert (det.module, det.qualname) == (__name__, "Detector")
    assert det.file == __file__
    assert [(p.name, p.required, p.annotation) for p in det.inputs] == [
        ("image", True, "np.ndarray"), ("odom", False, None),
    ]
    assert [(p.name, p.annotation) for p in det.outputs] == [("out", "float")]
    assert det.construction == {"args": [], "kwargs": {}}
    assert det.rate_hz == 10.0 and not det.starts_loop
    assert det.created_at.file == __file__ and det.created_at.line > 0


def test_a_type_mismatch_between_annotations_is_a_validation_problem():
    camera, wants = Camera(), Wants()
    wants(text=camera.out)
    ok, problems = System(components=[camera, wants], name="robot").validate()
    assert not ok
    assert len(problems) == 1
    assert problems[0].endswith(
        "type mismatch on edge camera.out -> wants.text: output is annotated ndarray, input expects str."
    )


def test_validate_returns_graph_errors_from_building_the_ir_as_problems():
    ok, problems = System(components=[Camera(), Split(), Detector()], name="robot").validate()
    assert not ok and len(problems) == 1
    where, _, message = problems[0].partition(": ")
    assert where.startswith(Location(__file__).display_file + ":")  # file:line of the component's creation
    assert message.startswith("Cannot chain 'split' -> 'detector' sequentially")


# -- placement: nodes, machines, engines ------------------------------------------------------------------------
def test_the_seed_distributed_example_places_nodes_on_machines():
    jetson = Node("jetson", machine="192.168.1.10", engine="dora")
    nuc = Node("nuc", machine="nuc", engine="dora")
    camera, detector, planner = Camera(node=jetson), Detector(node=jetson), Planner(node=nuc)
    spec = System(components=[camera, detector, planner], name="robot").spec()
    assert spec.nodes == (
        NodeSpec("jetson", "jetson", "dora", ("camera", "detector"), created_at=jetson._lk_created_at),
        NodeSpec("nuc", "nuc", "dora", ("planner",), created_at=nuc._lk_created_at),
    )
    assert spec.node("nuc").created_at.line == spec.node("jetson").created_at.line + 1
    assert spec.machines == (MachineSpec("jetson", host="192.168.1.10"), MachineSpec("nuc"))
    assert spec.engine == "dora"
    assert spec.validate() == []


def test_components_without_a_node_go_to_the_implicit_local_node():
    camera, detector = Camera(), Detector()
    spec = System(components=[camera, detector], name="robot").spec()
    assert spec.nodes == (NodeSpec("local", None, None, ("camera", "detector"), implicit=True),)
    assert spec.machines == () and spec.engine is None


def test_a_node_can_be_assigned_after_creation():
    camera, detector = Camera(), Detector()
    camera.node = Node("vision")
    spec = System(components=[camera, detector], name="robot").spec()
    assert [n.name for n in spec.nodes] == ["vision", "local"]
    assert spec.component("camera").node == "vision"


@pytest.mark.parametrize("machine, name, host", [
    ("192.168.1.10", "vision", "192.168.1.10"),   # an address: the machine is named after the node
    ("fe80::1", "vision", "fe80::1"),
    ("jetson.local", "vision", "jetson.local"),   # a host name with a dot is an address too
    ("nuc", "nuc", None),                          # a name
    ("robot-arm_2", "robot-arm_2", None),
])
def test_node_machine_is_a_name_or_an_address(machine, name, host):
    node = Node("vision", machine=machine)
    assert (node.machine.name, node.machine.host) == (name, host)


@pytest.mark.parametrize("machine", ["", "my machine", 42])
def test_a_machine_that_is_neither_name_nor_address_is_refused(machine):
    with pytest.raises(ConfigError) as err:
        Node("vision", machine=machine)
    assert str(err.value) == (
        "Node 'vision': machine must be a machine name, an address or a Machine(...). "
        f"Received: machine={machine!r} (of type {type(machine).__name__})"
    )


def test_node_names_must_be_non_empty_strings():
    with pytest.raises(ConfigError, match=r"^Node name must be a non-empty string\. Received: name=''$"):
        Node("")


def test_machine_presets():
    assert {"x86_64-linux", "jetson", "raspberry-pi"} <= set(PRESETS)
    jetson = Machine.preset("jetson", name="orin", host="10.0.0.2")
    assert (jetson.name, jetson.host, jetson.arch, jetson.preset) == ("orin", "10.0.0.2", "aarch64", "jetson")
    assert (jetson.python, jetson.base_image) == ("3.12", None)  # bundles: python:3.12-slim-bookworm
    assert Machine.preset("raspberry-pi").arch == "aarch64"
    assert Machine.preset("x86_64-linux").pip_platforms[0].endswith("x86_64")
    with pytest.raises(ConfigError) as err:
        Machine.preset("pdp11")
    assert str(err.value) == f"Unknown machine preset 'pdp11'. Known presets: {', '.join(sorted(PRESETS))}."


def test_a_machine_object_shared_by_nodes_is_one_machine_in_the_ir():
    pi = Machine.preset("raspberry-pi", name="pi", host="10.0.0.3")
    a, b = Node("sense", machine=pi), Node("act", machine=pi)
    camera, planner = Camera(node=a), Planner(node=b)
    spec = System(components=[camera, Detector(node=a), planner], name="robot").spec()
    assert [m.name for m in spec.machines] == ["pi"]
    assert spec.machine("pi").arch == "aarch64" and spec.machine("pi").preset == "raspberry-pi"


def test_mixing_engines_is_a_problem():
    camera, detector = Camera(node=Node("a", machine="m1", engine="dora")), Detector(node=Node("b", machine="m2",
                                                                                                engine="ros2"))
    system = System(components=[camera, detector], name="robot")
    ok, problems = system.validate()
    assert not ok
    assert [p.message for p in problems] == [
        "nodes use different engines (a=dora, b=ros2); all nodes of a system must use one engine."]
    assert problems[0].code == "LK230" and problems[0].location.file == __file__  # the Node with the other engine
    assert system.spec().engine is None


def test_components_on_no_machine_next_to_placed_nodes_are_a_problem():
    camera = Camera(node=Node("vision", machine="jetson"))
    ok, problems = System(components=[camera, Detector()], name="robot").validate()
    assert [p.message for p in problems] == [
        "components detector run on no machine while other nodes are placed on jetson. Give them a Node with a machine."
    ]


def test_two_node_objects_with_one_name_are_refused():
    camera, detector = Camera(node=Node("vision")), Detector(node=Node("vision"))
    with pytest.raises(GraphError) as err:
        System(components=[camera, detector]).spec()
    assert err.value.message == ("two different Node objects are named 'vision'; node names must be unique. "
                                 "Create the Node once and pass it to each component.")


def test_the_engine_is_the_one_asked_for_else_the_nodes_else_native():
    camera = Camera(node=Node("vision", engine="dora"))
    system = System(components=[camera])
    assert system.engine_name() == "dora"
    assert system.engine_name("ros2") == "ros2"
    assert System(components=[Camera()]).engine_name() == "native"


def test_compile_and_launch_are_refused_while_lkbuild_reads_the_file(monkeypatch):
    monkeypatch.setattr(lkbuild.system, "BUILD_MODE", True)
    system = System(components=[Camera(), Logger()])
    for action in (system.compile, system.launch):
        with pytest.raises(GraphError) as err:
            action()
        assert err.value.message.endswith(
            "runs while lkbuild imports this file to read the system. Guard it with "
            "`if __name__ == \"__main__\":` so it runs only when the file is executed directly."
        )


def test_a_node_names_its_engine_where_the_engines_are_not_installed():
    """A deploy bundle carries the API without lkbuild.engines; its robot.py must still build its Nodes."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('lkbuild.engines'):\n"
        "            raise ImportError('not in a bundle: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from lkbuild import Node\n"
        "print(Node('jetson', machine='192.168.1.10', engine='dora').engine)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "dora\n"


def test_an_unknown_engine_on_a_node_is_refused_where_the_node_is_made():
    with pytest.raises(ConfigError) as err:
        Node("jetson", engine="warp")
    assert err.value.message.startswith("Node 'jetson': unknown engine 'warp'. Known engines: dora, native")
