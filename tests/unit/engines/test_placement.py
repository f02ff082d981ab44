"""The placement report for examples/robot, from a fixed profile, against figures worked out by hand.

The profile (robot_profile.json): camera 0.20 cores, detector 0.10, planner 0.02, controller 0.01;
camera -> detector carries 19,200 B x 30/s = 576,000 B/s, detector -> planner 50 B x 30/s = 1,500 B/s,
planner -> controller 48 B x 30/s = 1,440 B/s. The robot places camera and detector on the Jetson,
planner and controller on the NUC.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.cli import main
from lkbuild.engines import placement
from lkbuild.engines.profile import load
from lkbuild.errors import ConfigError
from lkbuild.loader import load_spec

HERE = Path(__file__).parent
ROBOT = HERE.parents[2] / "examples" / "robot" / "robot.py"
PROFILE = HERE / "robot_profile.json"


@pytest.fixture(scope="module")
def spec():
    return load_spec(str(ROBOT))


def test_as_placed_the_jetson_needs_the_camera_and_detector_and_only_detections_cross(spec):
    report = placement.report(spec, load(PROFILE))

    assert report.machines["jetson"]["cores"] == pytest.approx(0.20 + 0.10)
    assert report.machines["nuc"]["cores"] == pytest.approx(0.02 + 0.01)
    assert report.machines["jetson"]["components"] == ["camera", "detector"]
    assert report.boundaries == {("jetson", "nuc"): pytest.approx(1500.0)}
    assert [name for name, _, _ in report.heaviest_components] == ["camera", "detector", "planner", "controller"]
    assert report.heaviest_edges == [("detector.detections -> planner.detections", 1500.0, "jetson", "nuc")]


def test_what_if_the_detector_ran_on_the_nuc_the_frames_cross_instead(spec):
    report = placement.report(spec, load(PROFILE), placement.parse_moves(["detector=nuc"], spec))

    assert report.machines["jetson"]["cores"] == pytest.approx(0.20)
    assert report.machines["nuc"]["cores"] == pytest.approx(0.10 + 0.02 + 0.01)
    assert report.boundaries == {("jetson", "nuc"): pytest.approx(576000.0)}  # 384 times the detections
    assert report.heaviest_edges[0][:2] == ("camera.out -> detector.image", 576000.0)


def test_everything_on_the_jetson_crosses_nothing(spec):
    moves = placement.parse_moves(["planner=jetson", "controller=jetson"], spec)
    report = placement.report(spec, load(PROFILE), moves)

    assert report.machines["jetson"]["cores"] == pytest.approx(0.33)
    assert report.machines["nuc"] == {"cores": 0.0, "components": []}
    assert report.boundaries == {} and report.heaviest_edges == []


def test_the_command_prints_the_report_and_refuses_unknown_names(spec, tmp_path):
    runner = CliRunner()
    done = runner.invoke(main, ["placement", str(ROBOT), "--profile", str(PROFILE), "--what-if", "detector=nuc"],
                         catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "what if detector ran on nuc" in done.output
    assert "jetson -> nuc: 562.5 KiB/s" in done.output      # 576,000 B/s
    assert re.search(r"nuc +0\.130 +\(detector, planner, controller\)", done.output)
    bad = runner.invoke(main, ["placement", str(ROBOT), "--profile", str(PROFILE), "--what-if", "detector=tx2"])
    assert bad.exit_code == 2 and "no Node 'tx2'" in bad.output and "jetson, nuc" in bad.output
    with pytest.raises(ConfigError, match="no component 'lidar'"):
        placement.parse_moves(["lidar=nuc"], spec)
