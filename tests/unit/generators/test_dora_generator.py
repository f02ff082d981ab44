"""The dora generator: dataflow.yaml and entrypoints from inline systems, checked by the real dora CLI."""
from __future__ import annotations

import runpy

import pytest
import yaml

from lkbuild import Component, Node, System
from lkbuild.graph.plan import node_plan
from lkbuild.errors import ConfigError
from lkbuild.generators import dora as generator
from lkbuild.tools.dora import Dora

ROOT = "/srv/robot/.lk_build/dora"
PYTHON = "/opt/venv/bin/python"
OPTIONS = {"root": ROOT, "python": PYTHON}


class Camera(Component):
    def __init__(self, name="camera", node=None, label=""):
        super().__init__(name, node=node, rate_hz=30)
        self.label = label

    def forward(self):
        return 1


class Detector(Component):
    outputs = ("detections", "debug")
    input_queues = {"image": {"size": 3, "policy": "backpressure"}}

    def __init__(self, node=None):
        super().__init__("detector", node=node)

    def forward(self, image, odom=None):
        return {"detections": image, "debug": None}


class Planner(Component):
    def __init__(self, node=None):
        super().__init__("planner", node=node)

    def forward(self, detections, debug=None):
        return detections


class Plant(Component):
    def __init__(self, node=None):
        super().__init__("plant", node=node)

    def initial_outputs(self):
        return 0

    def forward(self, command):
        return command


class Policy(Component):
    def __init__(self, node=None):
        super().__init__("policy", node=node)

    def forward(self, state):
        return state


def robot(label="", machines=True):
    jetson = Node("jetson", machine="jetson" if machines else None)
    nuc = Node("nuc", machine="192.168.1.20" if machines else None)
    camera = Camera(node=jetson, label=label)
    detector = Detector(node=jetson)
    planner = Planner(node=nuc)
    dets = detector(image=camera.out)
    planner(detections=dets.detections, debug=dets.debug)
    return System(components=[camera, detector, planner], name="robot").spec()


def single():
    camera, planner = Camera(), Planner()
    planner(detections=camera.out)
    return System(components=[camera, planner], name="single").spec()


def loop():
    plant, policy = Plant(node=Node("sim")), Policy(node=Node("brain"))
    plant(command=policy(state=plant.out))
    return System(components=[plant, policy], name="loop").spec()


def dataflow(files, name="dataflow.yaml"):
    return yaml.safe_load(files[name])


def test_one_dora_node_per_lkbuild_node_with_a_fixed_interpreter_and_absolute_entrypoint():
    flow = dataflow(generator.generate(robot(), OPTIONS))
    assert [n["id"] for n in flow["nodes"]] == ["jetson", "nuc"]
    for n in flow["nodes"]:
        assert n["path"] == PYTHON
        assert n["args"] == f"-u {ROOT}/nodes/{n['id']}.py"
    jetson, nuc = flow["nodes"]
    assert jetson["deploy"] == {"machine": "jetson"}
    assert nuc["deploy"] == {"machine": "nuc"}         # an address names the machine after the node


def test_only_edges_that_cross_nodes_become_dora_inputs_and_outputs():
    jetson, nuc = dataflow(generator.generate(robot(), OPTIONS))["nodes"]
    # the leader; its status goes to nuc, whose idleness follows from it (ending: "Settling")
    assert jetson["outputs"] == ["detector.debug", "detector.detections", "_lk_status", "_lk_control"]
    assert nuc["outputs"] == ["_lk_status"] and nuc["inputs"]["_lk_control"]["source"] == "jetson/_lk_control"
    assert nuc["inputs"]["_lk_status.jetson"]["source"] == "jetson/_lk_status"
    assert "detector.image" not in jetson.get("inputs", {})          # camera -> detector stays in-process
    assert nuc["inputs"]["planner.detections"]["source"] == "jetson/detector.detections"
    assert nuc["inputs"]["planner.debug"]["source"] == "jetson/detector.debug"


def test_queue_size_and_policy_come_from_the_port_with_a_default_that_loses_nothing():
    spec = robot()
    nuc = dataflow(generator.generate(spec, OPTIONS))["nodes"][1]
    assert nuc["inputs"]["planner.detections"]["queue_size"] == 1000
    # dora's drop_oldest loses messages below its queue size: an unconfigured port gets backpressure.
    assert nuc["inputs"]["planner.detections"]["queue_policy"] == "backpressure"

    jetson, nuc = Node("jetson"), Node("nuc")
    camera, detector = Camera(node=jetson), Detector(node=nuc)
    detector(image=camera.out)
    flow = dataflow(generator.generate(System(components=[camera, detector], name="q").spec(), OPTIONS))
    assert flow["nodes"][1]["inputs"]["detector.image"] == {
        "source": "jetson/camera.out", "queue_size": 3, "queue_policy": "backpressure"}

    class Fresh(Detector):
        input_queues = {"image": {"size": 1, "policy": "drop_oldest"}}    # only the newest frame matters

    camera, fresh = Camera(node=jetson), Fresh(node=nuc)
    fresh(image=camera.out)
    flow = dataflow(generator.generate(System(components=[camera, fresh], name="q").spec(), OPTIONS))
    assert flow["nodes"][1]["inputs"]["detector.image"]["queue_policy"] == "drop_oldest"


def test_statuses_go_to_the_leader_and_to_clocked_senders_only():
    sim, brain = dataflow(generator.generate(loop(), OPTIONS))["nodes"]
    assert sim["inputs"]["_lk_status.brain"]["source"] == "brain/_lk_status"  # the leader; its loop is held
    assert "_lk_status.sim" not in brain["inputs"]  # brain has no clock: it never holds, nothing to read
    assert brain["inputs"]["_lk_control"]["source"] == "sim/_lk_control"


def test_a_single_node_needs_no_dora_wiring():
    flow = dataflow(generator.generate(single(), OPTIONS))
    assert flow["nodes"] == [{"id": "local", "path": PYTHON, "args": f"-u {ROOT}/nodes/local.py",
                              "env": {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}}]


def test_placed_systems_also_get_a_dataflow_without_deploy_for_dora_run():
    files = generator.generate(robot(), OPTIONS)
    local = dataflow(files, "dataflow.local.yaml")
    placed = dataflow(files)
    assert all("deploy" not in n for n in local["nodes"])
    assert [{k: v for k, v in n.items() if k != "deploy"} for n in placed["nodes"]] == local["nodes"]
    assert "dataflow.local.yaml" not in generator.generate(robot(machines=False), OPTIONS)


def test_generation_is_deterministic():
    first, second = generator.generate(robot(), OPTIONS), generator.generate(robot(), OPTIONS)
    assert first == second
    assert sorted(first) == sorted([
        "dataflow.yaml", "dataflow.local.yaml", "nodes/jetson.py", "nodes/nuc.py",
        "machines/jetson.sh", "machines/nuc.sh"])


def test_entrypoints_import_the_runtime_by_lkbuilds_own_name_and_no_copy_is_made():
    """One runtime module, one message registry: the one lkbuild's API (``lkbuild.message``) registers in."""
    files = generator.generate(robot(), OPTIONS)
    assert not any(path.endswith("codec.py") for path in files)
    assert "    from lkbuild.runtime_stubs.lk_runtime import dora_node\n" in files["nodes/jetson.py"].decode()


def test_the_entrypoint_embeds_the_node_plan_exactly_even_with_hostile_strings(tmp_path):
    label = "it's \"quoted\"\n'''triple''' \\ backslash {{ jinja }} $HOME"
    spec = robot(label=label)
    files = generator.generate(spec, OPTIONS)
    path = tmp_path / "jetson.py"
    path.write_bytes(files["nodes/jetson.py"])
    namespace = runpy.run_path(str(path), run_name="not_main")     # defines PLAN, starts nothing
    assert namespace["PLAN"] == node_plan(spec, "jetson")
    camera = next(c for c in namespace["PLAN"]["components"] if c["name"] == "camera")
    assert camera["construction"]["kwargs"]["label"] == label
    assert namespace["WIRING"]["outputs"] == [["detector", "debug", "detector.debug"],
                                              ["detector", "detections", "detector.detections"]]


def test_machine_scripts_hold_the_daemon_command_for_each_machine():
    files = generator.generate(robot(), {**OPTIONS, "coordinator_addr": "192.168.1.100", "coordinator_port": 7000})
    script = files["machines/jetson.sh"].decode()
    assert script.startswith("#!/bin/sh\n")
    assert 'COORDINATOR_ADDR="${DORA_COORDINATOR_ADDR:-192.168.1.100}"' in script
    assert 'COORDINATOR_PORT="${DORA_COORDINATOR_PORT:-7000}"' in script
    assert "exec dora daemon --machine-id jetson --coordinator-addr" in script


@pytest.mark.parametrize("options, message", [
    ({"python": PYTHON}, "absolute 'root'"),
    ({"root": "relative/dir"}, "absolute 'root'"),
    ({**OPTIONS, "coordinator_addr": "host; rm -rf /"}, "not a host name"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        generator.generate(robot(), options)


def test_a_node_name_that_is_not_a_dora_id_is_refused():
    spec = single()
    bad = spec.__class__(**{**spec.__dict__, "nodes": (spec.nodes[0].__class__(
        name="../evil", machine=None, engine=None, components=spec.nodes[0].components),)})
    with pytest.raises(ConfigError, match="cannot become a dora node id"):
        generator.generate(bad, OPTIONS)


@pytest.mark.parametrize("make", [robot, single, loop, lambda: robot(machines=False)],
                         ids=["placed", "single", "loop", "unplaced"])
def test_the_real_dora_validates_and_expands_every_generated_dataflow(make, tmp_path):
    files = generator.generate(make(), {**OPTIONS, "root": str(tmp_path)})
    dora = Dora(home=tmp_path / "home")
    for name in ("dataflow.yaml", "dataflow.local.yaml"):
        if name not in files:
            continue
        path = tmp_path / name
        path.write_bytes(files[name])
        dora.validate(path)
        expanded = yaml.safe_load(dora.expand(path))
        ours = yaml.safe_load(files[name])
        # dora silently drops unknown keys inside long-form inputs: what we wrote must survive expansion.
        for mine, theirs in zip(ours["nodes"], expanded["nodes"]):
            assert theirs["id"] == mine["id"] and theirs["path"] == mine["path"]
            for input_id, spec in mine.get("inputs", {}).items():
                assert {k: theirs["inputs"][input_id][k] for k in spec} == spec
            assert (theirs["deploy"] or {}).get("machine") == mine.get("deploy", {}).get("machine")


def test_a_node_that_asks_to_be_restarted_gets_doras_restart_fields_that_dora_accepts(tmp_path):
    sim = Node("sim", restart="on-failure", max_restarts=3, restart_delay=0.5)
    plant, policy = Plant(node=sim), Policy(node=Node("brain"))
    plant(command=policy(state=plant.out))
    files = generator.generate(System(components=[plant, policy], name="loop").spec(), OPTIONS)
    by_id = {n["id"]: n for n in dataflow(files)["nodes"]}
    assert {k: v for k, v in by_id["sim"].items() if k.startswith(("restart", "max_"))} == {
        "restart_policy": "on-failure", "max_restarts": 3, "restart_delay": 0.5}
    assert not any(k.startswith("restart") for k in by_id["brain"])
    (tmp_path / "dataflow.yaml").write_bytes(files["dataflow.yaml"])
    Dora(home=tmp_path / "home").validate(tmp_path / "dataflow.yaml")


@pytest.mark.parametrize("options, message", [
    ({"restart": "sometimes"}, "restart must be one of never, on-failure, always. Received: restart='sometimes'"),
    ({"restart": "always", "max_restarts": -1}, "max_restarts must be an int >= 0"),
    ({"restart": "always", "restart_delay": float("nan")}, "restart_delay must be seconds >= 0"),
    ({"max_restarts": 2}, "max_restarts and restart_delay need restart='on-failure' or 'always'"),
])
def test_bad_restart_options_are_refused_when_the_node_is_made(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Node("sim", **options)
