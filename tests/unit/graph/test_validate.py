"""IR validation: one walk that finds every structural problem at once, each message saying how to fix it."""
from __future__ import annotations

from lkbuild.errors import Location
from lkbuild.graph import ComponentSpec, EdgeSpec, MachineSpec, NodeSpec, PortSpec, SystemSpec


def port(text: str) -> PortSpec:
    """``"x"`` required, ``"x?"`` optional, ``"x:int"`` annotated."""
    name, _, annotation = text.partition(":")
    optional = name.endswith("?")
    return PortSpec(name.rstrip("?"), required=not optional, annotation=annotation or None)


def comp(name, inputs=(), outputs=("out",), node="local", starts_loop=False, created_at=None, **extra):
    return ComponentSpec(
        name=name, module="robot", qualname=name.title(), file="/r/robot.py", import_root="/r",
        construction={"args": [], "kwargs": {}}, inputs=tuple(port(p) for p in inputs),
        outputs=tuple(PortSpec(o.partition(":")[0], required=False, annotation=o.partition(":")[2] or None)
                      for o in outputs),
        node=node, rate_hz=10.0, starts_loop=starts_loop, created_at=created_at, **extra,
    )


def edge(text: str) -> EdgeSpec:
    src, dst = text.split(" -> ")
    return EdgeSpec(*src.split("."), *dst.split("."))


def system(components, edges=(), nodes=None, machines=(), name="robot"):
    if nodes is None:
        nodes = (NodeSpec("local", None, None, tuple(c.name for c in components), implicit=True),)
    return SystemSpec(name=name, root="/r", components=tuple(components), edges=tuple(edge(e) for e in edges),
                      nodes=tuple(nodes), machines=tuple(machines))


def test_a_valid_chain_has_no_problems():
    spec = system([comp("camera"), comp("detector", ["image", "odom?"]), comp("sink", ["x"], outputs=())],
                  ["camera.out -> detector.image", "detector.out -> sink.x"])
    assert spec.validate() == []


def test_every_problem_is_reported_at_once():
    spec = system(
        [
            comp("camera", outputs=("out:float",)),
            comp("spare"), comp("spare"),                         # duplicate name
            comp("detector", ["image:str", "odom"]),              # type mismatch; odom unconnected
            comp("fuse", ["a", "b"]),                             # a wired twice
            comp("bad-name", ["x?"], outputs=("out put",)),       # invalid names
            comp("ping", ["x"]), comp("pong", ["x"]),             # a loop nobody starts
        ],
        [
            "camera.out -> detector.image",
            "camera.out -> fuse.a", "detector.out -> fuse.a", "detector.out -> fuse.b",
            "camera.out -> ghost.x", "camera.nope -> fuse.b", "fuse.out -> detector.lidar",
            "ping.out -> pong.x", "pong.out -> ping.x",
        ],
        name="Robot",
    )
    assert spec.validate() == [
        "System name 'Robot' is not valid for every target: use lowercase letters, digits and '_', starting with "
        "a letter (it becomes a ROS 2 package name), and not 'test'.",
        "2 components are named 'spare'; give each a unique name (name=...).",
        "component name 'bad-name' is not valid for every target (dora node ids, ROS 2 node and topic names): "
        "use letters, digits and '_', starting with a letter.",
        "component 'bad-name': port name 'out put' is not valid; use letters, digits and '_', starting with a letter.",
        "type mismatch on edge camera.out -> detector.image: output is annotated float, input expects str.",
        "edge camera.out -> ghost.x: no component named 'ghost' in the system.",
        "edge camera.nope -> fuse.b: component 'camera' has no output 'nope' (outputs: out).",
        "edge fuse.out -> detector.lidar: component 'detector' has no input 'lidar' (inputs: image, odom).",
        "input 'fuse.a' is wired 2 times (camera.out, detector.out); an input takes one source.",
        "required input 'detector.odom' is not connected. Wire it (detector(... odom=<component>.out) or "
        "system.connect(src, detector.inputs.odom)) or give the parameter a default in forward().",
        "component 'fuse' can never fire: required input 'fuse.a' is fed by 'detector', which never fires; "
        "required input 'fuse.b' is fed by 'detector', which never fires.",
        "component 'bad-name' can never fire: none of its inputs is connected. Wire one, or remove the component.",
        "component 'ping' is in a loop that can never start: every component of the loop waits for another. "
        "Let one of them send first by defining initial_outputs(), or make one loop input optional "
        "(give it a default in forward()).",
        "component 'pong' is in a loop that can never start: every component of the loop waits for another. "
        "Let one of them send first by defining initial_outputs(), or make one loop input optional "
        "(give it a default in forward()).",
    ]


def test_problems_point_at_where_the_component_was_created(tmp_path):
    spec = system([comp("sink", ["x"], outputs=(), created_at="/r/robot.py:12")])
    assert spec.validate() == [
        "/r/robot.py:12: required input 'sink.x' is not connected. Wire it (sink(... x=<component>.out) or "
        "system.connect(src, sink.inputs.x)) or give the parameter a default in forward()."
    ]


def test_a_loop_with_a_starter_or_an_optional_input_can_start():
    started = system([comp("ping", ["x"], starts_loop=True), comp("pong", ["x"])],
                     ["ping.out -> pong.x", "pong.out -> ping.x"])
    assert started.validate() == []
    fed = system([comp("tick"), comp("ping", ["x", "kick?"]), comp("pong", ["x"])],
                 ["ping.out -> pong.x", "pong.out -> ping.x", "tick.out -> ping.kick"])
    # ping has a required input only pong feeds, and pong waits for ping: the tick cannot break the wait.
    assert [p.split(":")[0] for p in fed.validate()] == [
        "component 'ping' is in a loop that can never start",
        "component 'pong' is in a loop that can never start",
    ]


def test_a_component_downstream_of_a_dead_loop_can_never_fire():
    spec = system([comp("ping", ["x"]), comp("pong", ["x"]), comp("sink", ["x"], outputs=())],
                  ["ping.out -> pong.x", "pong.out -> ping.x", "pong.out -> sink.x"])
    assert spec.validate()[-1] == "component 'sink' can never fire: required input 'sink.x' is fed by 'pong', which never fires."


def test_a_component_fed_only_through_optional_inputs_by_a_dead_loop_can_never_fire():
    spec = system([comp("ping", ["x"]), comp("pong", ["x"]), comp("log", ["x?", "y?"], outputs=())],
                  ["ping.out -> pong.x", "pong.out -> ping.x", "pong.out -> log.x", "ping.out -> log.y"])
    assert spec.validate()[-1] == "component 'log' can never fire: every component feeding it never fires (ping, pong)."


def test_type_annotations_compare_by_class_and_allow_numeric_widening():
    def check(out_type, in_type):
        spec = system([comp("a", outputs=(f"out:{out_type}",)), comp("b", [f"x:{in_type}"])], ["a.out -> b.x"])
        return spec.validate()

    for ok in [("int", "float"), ("bool", "int"), ("float", "complex"), ("numpy.ndarray", "np.ndarray"),
               ("builtins.int", "int"), ("Any", "str"), ("int", "Optional[int]"), ("list[int]", "int"),
               ("robot.Pose", "Pose")]:
        assert check(*ok) == [], ok
    assert check("float", "int") == [
        "type mismatch on edge a.out -> b.x: output is annotated float, input expects int."
    ]
    assert check("numpy.ndarray", "Pose") == [
        "type mismatch on edge a.out -> b.x: output is annotated ndarray, input expects Pose."
    ]


def test_target_names_and_queue_settings_are_checked():
    spec = system(
        [comp("_cam", node="my node"),
         ComponentSpec(name="q", module="m", qualname="Q", file="", import_root="", construction={},
                       inputs=(PortSpec("x", queue_size=0, queue_policy="lifo"),), outputs=(), node="my node",
                       rate_hz=1.0)],
        ["_cam.out -> q.x"],
        nodes=(NodeSpec("my node", None, None, ("_cam", "q")),),
        name="test",
    )
    found = spec.validate()
    assert found[0].startswith("System name 'test' is not valid for every target")
    assert found[1].startswith("component name '_cam' is not valid for every target")
    assert "component 'q' input 'x': queue policy 'lifo' is not one of drop_oldest, backpressure." in found
    assert "component 'q' input 'x': queue size must be a whole number of messages, at least 1. Received: size=0" in found
    assert ("node name 'my node' is not valid for every target: use letters, digits and '_', starting with a "
            "letter.") in found
    assert len(found) == 5


def test_placement_problems_mixed_engines_unplaced_nodes_and_unknown_machines():
    spec = system(
        [comp("camera", node="vision"), comp("planner", ["x"], node="brain"), comp("sink", ["x"], outputs=())],
        ["camera.out -> planner.x", "planner.out -> sink.x"],
        nodes=(
            NodeSpec("vision", "jetson", "dora", ("camera",)),
            NodeSpec("brain", "nuc", "ros2", ("planner",)),
            NodeSpec("local", None, None, ("sink",), implicit=True),
        ),
        machines=(MachineSpec("jetson", host="192.168.1.10"), MachineSpec("bad machine")),
    )
    assert spec.validate() == [
        "machine name 'bad machine' is not valid: use letters, digits, '_', '.' and '-', starting with a letter.",
        "nodes use different engines (vision=dora, brain=ros2); all nodes of a system must use one engine.",
        "components sink run on no machine while other nodes are placed on jetson, nuc. "
        "Give them a Node with a machine.",
        "node 'brain' names machine 'nuc', which the system does not define.",
    ]


def test_an_explicit_node_without_a_machine_among_placed_nodes():
    spec = system(
        [comp("camera", node="vision"), comp("sink", ["x"], outputs=(), node="logger")],
        ["camera.out -> sink.x"],
        nodes=(NodeSpec("vision", "jetson", None, ("camera",)), NodeSpec("logger", None, None, ("sink",))),
        machines=(MachineSpec("jetson"),),
    )
    assert spec.validate() == [
        "node 'logger' run on no machine while other nodes are placed on jetson. Give it machine=... ."
    ]


def test_components_and_nodes_must_agree():
    spec = system([comp("camera", node="ghost")], nodes=(NodeSpec("local", None, None, ()), NodeSpec("local", None, None, ())))
    assert spec.validate() == [
        "2 nodes are named 'local'; node names must be unique.",
        "component 'camera' is on node 'ghost', which the system does not define.",
    ]


def test_problems_carry_a_code_and_the_location_the_ir_recorded():
    where = Location("/r/robot.py", 12)
    spec = system([comp("sink", ["x"], outputs=(), created_at=where), comp("sink2", ["x"], outputs=())])
    found = spec.validate()
    assert [(p.code, p.location) for p in found] == [("LK211", where), ("LK211", None)]
    assert found[0] == f"{where}: " + found[0].message  # still the text callers print
    assert found[0].to_dict() == {"code": "LK211", "message": found[0].message, "file": "/r/robot.py",
                                  "line": 12, "col": None, "severity": "error"}


def test_names_longer_than_a_target_allows_are_problems():
    long = "c" * 250  # a fine ROS 2 node name, but /robot/<name>/out is 261 characters: too long for a topic
    found = system([comp(long)]).validate()
    assert [p.code for p in found] == ["LK202"]
    assert "255" in found[0].message and "/<system>/<component>/<port>" in found[0].message


def test_duplicate_names_give_no_guessed_problems_about_their_edges():
    spec = system([comp("cam"), comp("cam"), comp("both", ["a", "b"], outputs=())],
                  ["cam.out -> both.a", "cam.out -> both.b"])
    assert [p.code for p in spec.validate()] == ["LK203"]


def test_an_empty_system_is_a_problem():
    assert [p.code for p in system([], nodes=()).validate()] == ["LK260"]
