"""``lkbuild bundle`` as a user runs it."""
from __future__ import annotations

from click.testing import CliRunner

from lkbuild.cli import main


def invoke(project, *args, env=None):
    return CliRunner().invoke(main, ["-C", str(project), "bundle", "robot.py", *args], env=env,
                                              catch_exceptions=False)


def test_bundle_writes_the_machines_bundle(project, spec):
    result = invoke(project, "--machine", "nuc")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("Bundle for machine 'nuc' (linux/amd64, CPython 3.11, dora): "
                             ".lk_build/bundles/nuc\n")
    assert (project / ".lk_build" / "bundles" / "nuc" / "manifest.json").is_file()


def test_unknown_machine_is_a_clear_error(project, spec):
    result = invoke(project, "--machine", "tx2")
    assert result.exit_code == 2
    assert result.stderr == "Error: System 'robot' has no machine named 'tx2'. Its machines: jetson, nuc.\n"
    assert not (project / ".lk_build" / "bundles" / "tx2").exists()


def test_image_without_a_docker_daemon_fails_before_bundling(project, spec, tmp_path):
    missing = f"unix://{tmp_path / 'no-docker.sock'}"
    result = invoke(project, "--machine", "nuc", "--image", env={"DOCKER_HOST": missing})
    assert result.exit_code == 4
    assert result.stderr.startswith(f"Error: Cannot reach a Docker daemon at {missing}")
    assert "point DOCKER_HOST at a running daemon" in result.stderr
    assert not (project / ".lk_build" / "bundles" / "nuc").exists()
