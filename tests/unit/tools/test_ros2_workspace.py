"""A colcon workspace's environment, read from its hooks (data), for a workspace path a shell would misread."""
from __future__ import annotations

import os

from lkbuild.tools.ros2 import Workspace, workspace_problem


def fake_install(root, pkg="robot"):
    """What colcon writes for an ament_python package: package.dsv pointing at its hooks."""
    share = root / "install" / pkg / "share" / pkg
    (share / "hook").mkdir(parents=True)
    (share / "package.dsv").write_text(
        f"source;share/{pkg}/hook/pythonpath.dsv\nsource;share/{pkg}/hook/pythonpath.sh\n"
        f"source;share/{pkg}/hook/ament_prefix_path.dsv\n")
    (share / "hook" / "pythonpath.dsv").write_text("prepend-non-duplicate;PYTHONPATH;lib/python3.11/site-packages\n")
    (share / "hook" / "pythonpath.sh").write_text("this is shell, never read\n")
    (share / "hook" / "ament_prefix_path.dsv").write_text("prepend-non-duplicate;AMENT_PREFIX_PATH;\n")
    return root / "install" / pkg


def test_the_environment_holds_the_workspace_paths_exactly(tmp_path, monkeypatch):
    root = tmp_path / "it's \"q\" #1 `x` é" / "ros2"
    prefix = fake_install(root)
    monkeypatch.setenv("PYTHONPATH", "/already/there")
    env = Workspace(root).environment({"ROS_DOMAIN_ID": "7"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(prefix / "lib/python3.11/site-packages"), "/already/there"]
    assert env["AMENT_PREFIX_PATH"].split(os.pathsep)[0] == str(prefix)
    assert env["COLCON_PREFIX_PATH"].split(os.pathsep)[0] == str(root / "install")
    assert env["ROS_DOMAIN_ID"] == "7"


def test_paths_ros_2_cannot_hold_are_named():
    assert "':'" in workspace_problem("/srv/proj: v2/ros2")
    assert "'$'" in workspace_problem("/srv/proj $HOME/ros2")
    assert workspace_problem("/srv/it's \"q\" #1 é/ros2") is None
