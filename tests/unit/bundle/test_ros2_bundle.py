"""``--engine ros2`` bundles: the system's ament package cut down to one machine, run from source."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lkbuild.bundle import BundleOptions, write_bundle


def test_ros2_bundle_holds_only_the_machines_node_and_launch_file(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="nuc", engine="ros2", out=tmp_path / "out"))
    files = sorted(p.relative_to(bundle.path).as_posix() for p in bundle.path.rglob("*") if p.is_file())
    package = "app/ros2/src/robot"
    assert f"{package}/robot_lkbuild/node_nuc.py" in files
    assert f"{package}/launch/nuc.launch.py" in files
    assert not any("jetson" in f or f.endswith("robot.launch.py") for f in files)
    assert "app/dataflow.yaml" not in files
    requirements = (bundle.path / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("ros-jazzy-rclpy[fastrtps]==") for r in requirements)
    assert not any(r.startswith("dora") for r in requirements)
    run_sh = (bundle.path / "run.sh").read_text()
    subprocess.run(["sh", "-n", str(bundle.path / "run.sh")], check=True)
    params = f"/{package}/config/params.yaml"
    assert (f'python3 -m robot_lkbuild.node_nuc "$@" --ros-args -r __ns:=/robot --params-file {params} &'
            in run_sh)
    assert "ENV AMENT_PREFIX_PATH=/opt/venv" in (bundle.path / "Dockerfile").read_text()


def test_ros2_selftest_builds_the_components_with_real_rclpy(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="nuc", engine="ros2", out=tmp_path / "out"))
    venv = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv}{os.pathsep}{os.environ['PATH']}", AMENT_PREFIX_PATH=str(venv.parent))
    done = subprocess.run(["sh", "run.sh", "selftest"], cwd=bundle.path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "selftest ok: machine nuc: 1 component built (nuc/planner); runtime ok"
