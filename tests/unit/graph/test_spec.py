"""The IR's data form: to_dict / from_dict / JSON round trips, schema version, look-ups."""
from __future__ import annotations

import json

import pytest

from lkbuild import ConfigError
from lkbuild.errors import Location
from lkbuild.graph import SCHEMA_VERSION, ComponentSpec, EdgeSpec, MachineSpec, NodeSpec, PortSpec, SystemSpec


def sample() -> SystemSpec:
    camera = ComponentSpec(
        name="camera", module="robot", qualname="Camera", file="/r/robot.py", import_root="/r",
        construction={"args": [{"$tuple": [1, 2]}], "kwargs": {"blob": {"$bytes": "AAE="}, "k": {"$float": "nan"}}},
        inputs=(), outputs=(PortSpec("out", required=False, annotation="numpy.ndarray"),), node="vision",
        rate_hz=30.0, config={"size": 4, "labels": ["a"]}, line=7, created_at=Location("/r/robot.py", 40),
        requirements=("numpy==2.4.6",), local_modules=("robot.py",),
    )
    detector = ComponentSpec(
        name="detector", module="robot", qualname="Detector", file="/r/robot.py", import_root="/r",
        construction={"args": [], "kwargs": {}},
        inputs=(PortSpec("image", annotation="np.ndarray", queue_size=2, queue_policy="backpressure"),
                PortSpec("odom", required=False)),
        outputs=(PortSpec("detections", required=False), PortSpec("debug", required=False)),
        node="vision", rate_hz=10.0, starts_loop=True,
    )
    return SystemSpec(
        name="robot", root="/r", components=(camera, detector),
        edges=(EdgeSpec("camera", "out", "detector", "image"),),
        nodes=(NodeSpec("vision", "jetson", "dora", ("camera", "detector")),),
        machines=(MachineSpec("jetson", host="192.168.1.10", arch="aarch64", devices=("/dev/video0",),
                              preset="jetson"),),
        engine="dora",
    )


def test_dict_and_json_round_trips_give_back_an_equal_spec():
    spec = sample()
    assert SystemSpec.from_dict(spec.to_dict()) == spec
    assert SystemSpec.from_json(spec.to_json()) == spec
    assert SystemSpec.from_json(spec.to_json()).to_json() == spec.to_json()


def test_json_is_canonical_and_the_digest_identifies_the_ir():
    text = sample().to_json()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["schema_version"] == SCHEMA_VERSION
    assert sample().digest() == sample().digest()
    other = SystemSpec.from_dict({**data, "name": "other"})
    assert other.digest() != sample().digest()


def test_a_different_schema_version_is_refused_with_what_to_do():
    data = sample().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ConfigError) as err:
        SystemSpec.from_dict(data)
    assert str(err.value) == (
        f"system.json has schema version {SCHEMA_VERSION + 1}; this lkbuild reads version {SCHEMA_VERSION}. "
        "Recompile the system with this lkbuild."
    )
    data["schema_version"] = 1  # "file:line" strings where version 2 has locations
    with pytest.raises(ConfigError, match="^system.json has schema version 1; this lkbuild reads version 2"):
        SystemSpec.from_dict(data)
    del data["schema_version"]
    with pytest.raises(ConfigError, match="^system.json has schema version None; "):
        SystemSpec.from_dict(data)


@pytest.mark.parametrize("broken", [
    lambda d: d.pop("components"),
    lambda d: d.update(edges=[*d["edges"], {"src": "a"}]),
    lambda d: d["nodes"][0].update(colour="red"),
])
def test_malformed_system_json_is_a_config_error(broken):
    data = sample().to_dict()
    broken(data)
    with pytest.raises(ConfigError, match=r"^system.json is malformed \(.*\)\. Recompile the system\.$"):
        SystemSpec.from_dict(data)


def test_invalid_json_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^system.json is not valid JSON \(.*\)\. Recompile the system\.$"):
        SystemSpec.from_json("{not json")


def test_look_ups():
    spec = sample()
    assert spec.component("detector").class_path == "robot:Detector"
    assert spec.node_of("camera").machine == "jetson"
    assert spec.machine("jetson").host == "192.168.1.10"
    assert spec.edges_into("detector") == [EdgeSpec("camera", "out", "detector", "image")]
    assert spec.edges_from("detector") == []
    assert spec.component("camera").is_source and not spec.component("detector").is_source
    assert spec.component("detector").input("odom").required is False
    assert spec.component("detector").output("nope") is None
    assert str(spec.edges[0]) == "camera.out -> detector.image"
    with pytest.raises(KeyError):
        spec.component("ghost")
