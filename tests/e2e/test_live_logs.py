"""Live logs on every engine (real dora, colcon + rclpy): components' output in the terminal as the run goes.

Prefixed ``node/component``, turned off by ``--quiet``, and with a failure the failing component's last
lines come with its traceback. dora's and ROS 2's own log files still hold everything.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from lkbuild.cli import main

from test_profile_engines import private, ros_env  # noqa: F401  (fixtures: a private HOME, ROS graph for ros2)

pytestmark = pytest.mark.e2e

ENGINES = ["native", "dora", "ros2"]
SYSTEM = "import profiled_system\nsystem = profiled_system.system({engine!r}, fail_at={fail_at})\n"


def launch(tmp_path, monkeypatch, engine, *args, fail_at=0):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "robot.py").write_text(SYSTEM.format(engine=engine, fail_at=fail_at))
    return CliRunner().invoke(main, ["launch", "robot.py", "-n", "6", "--fast", *args], catch_exceptions=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_what_components_print_is_shown_prefixed_and_quiet_hides_it(engine, tmp_path, monkeypatch, private):
    shown = launch(tmp_path, monkeypatch, engine)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line for line in lines if line.startswith("b/big | ")] == [f"b/big | big got {n}" for n in range(1, 7)]
    assert [line for line in lines if line.startswith("b/sink | ")] == [f"b/sink | sink saw frame {n}"
                                                                         for n in range(1, 7)]
    assert "LK_SUMMARY" not in shown.output

    quiet = launch(tmp_path, monkeypatch, engine, "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert "big got" not in quiet.output and "Ran system 'profiled'" in quiet.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failure_comes_with_the_failing_components_last_lines(engine, tmp_path, monkeypatch, private):
    failed = launch(tmp_path, monkeypatch, engine, "--quiet", fail_at=3)
    assert failed.exit_code == 3, failed.output
    error = failed.stderr[failed.stderr.index("Error: component 'sink'"):]
    assert "RuntimeError: sink gave up at frame 3" in error
    last = error[error.index("last output of b/sink:"):]
    assert "sink saw frame 1\n" in last and "sink saw frame 3\n" in last and "big got" not in last
