"""examples/robot bundled for its two machines, built into images with no network, and run for real.

A private Docker daemon (docker_daemon.py) builds the jetson and nuc bundles offline (x86_64 wheels, so
the images run here), each image self-tests with no network, then the distributed dataflow runs with
both dora daemons inside the two containers and the coordinator outside: the recorded outputs must equal
the native engine's.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from docker_daemon import base_image, docker_daemon  # noqa: F401  (fixtures)
from lkbuild.bundle import BundleOptions, build_image, write_bundle
from lkbuild.engines.native import NativeEngine
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools import Tool, wait_until
from lkbuild.tools.dora import ZENOH_OVERLAY

pytestmark = pytest.mark.e2e

ROBOT = Path(__file__).resolve().parents[2] / "examples" / "robot" / "robot.py"
MACHINES = ("jetson", "nuc")
ITERATIONS = 12


class Dora(Tool):
    """The dora CLI of this venv: the coordinator and client run on the host, as on a laptop."""

    name = "dora"
    how_to_install = "pip install dora-rs-cli==1.1.0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def robot_spec():
    from lkbuild.loader import load_system

    saved = list(sys.path)
    try:
        return load_system(str(ROBOT)).spec()
    finally:
        sys.path[:] = saved


@pytest.fixture(scope="module")
def images(robot_spec, docker_daemon, base_image, tmp_path_factory):  # noqa: F811
    """{machine: Bundle} with each bundle's image built with network_mode=none."""
    out = tmp_path_factory.mktemp("bundles")
    built = {}
    for machine in MACHINES:
        options = BundleOptions(machine=machine, offline=True, platform="linux/amd64", python="3.11",
                                base_image=base_image, out=out)
        bundle = write_bundle(robot_spec, options)
        log = []
        build_image(bundle, docker_daemon, on_line=log.append)
        assert any(line.startswith("Successfully built") for line in log), log[-5:]
        built[machine] = bundle
    return built


def test_offline_images_build_and_self_test(images, docker_daemon):  # noqa: F811
    for machine, bundle in images.items():
        assert bundle.wheels and all("x86_64" in w or w.endswith("-any.whl") for w in bundle.wheels)
        output = docker_daemon.run(bundle.image, ["selftest"], network_mode="none")
        components = {"jetson": "jetson/camera, jetson/detector", "nuc": "nuc/planner, nuc/controller"}[machine]
        assert f"selftest ok: machine {machine}: 2 components built ({components}); runtime ok" in output


def test_image_runs_as_non_root(images, docker_daemon):  # noqa: F811
    image = images["jetson"].image
    container = docker_daemon.client.containers.run(image, entrypoint=["id", "-u"], network_mode="none",
                                                    detach=True)
    try:
        container.wait(timeout=60)
        assert container.logs().decode().strip() == "10001"
    finally:
        container.remove(force=True)


def test_distributed_run_in_containers_equals_native(images, docker_daemon, robot_spec, tmp_path):  # noqa: F811
    native_dir = tmp_path / "native"
    NativeEngine(out_dir=tmp_path / "native-build").launch(robot_spec, None, iterations=ITERATIONS,
                                                           record_dir=native_dir, realtime=False)
    flows = {m: (b.path / "app" / "dataflow.yaml").read_bytes() for m, b in images.items()}
    assert flows["jetson"] == flows["nuc"]  # one dataflow, valid in every machine's container

    recorded = tmp_path / "recorded"
    recorded.mkdir()
    os.chmod(recorded, 0o777)  # the containers write as their non-root user
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {"HOME": str(home), "DORA_ZENOH_MULTICAST": "off", "DORA_ZENOH_ENDPOINT_EXCHANGE_TIMEOUT_MS": "0"}
    dora = Dora(env={**os.environ, **env})
    coordinator = dora.start(["coordinator", "--interface", "127.0.0.1", "--port", port, "--store", "memory"],
                             cwd=home, log_path=tmp_path / "coordinator.log")
    # As lkbuild's --local-cluster does: daemons join one at a time, each linked to the earlier ones, and
    # zenoh waits before dropping a message on a busy link (two daemons registering at the same moment may
    # otherwise never connect).
    zenoh_dir = tmp_path / "zenoh"
    zenoh_dir.mkdir()
    (zenoh_dir / "overlay.json5").write_text(ZENOH_OVERLAY)
    os.chmod(zenoh_dir / "overlay.json5", 0o644)
    addr = ["--coordinator-addr", "127.0.0.1", "--coordinator-port", port]

    def joined(machines):
        status = dora.run(["cluster", "status", *addr], check=False).stdout
        return all(m in status for m in machines)

    containers, zenoh_ports = [], []
    try:
        for machine, bundle in images.items():
            zenoh_port = free_port()
            links = [arg for peer in zenoh_ports for arg in ("--zenoh-connect", f"tcp/127.0.0.1:{peer}")]
            containers.append(docker_daemon.start(
                bundle.image, ["daemon", "--local-listen-port", str(free_port()), "--zenoh-no-multicast",
                               "--zenoh-listen", f"127.0.0.1:{zenoh_port}", *links,
                               "--zenoh-config-overlay", "/zenoh/overlay.json5"],
                network_mode="host", volumes={str(recorded): "/rec", str(zenoh_dir): "/zenoh"},
                environment={"DORA_COORDINATOR_ADDR": "127.0.0.1", "DORA_COORDINATOR_PORT": str(port), **env,
                             "HOME": "/home/lk"},
            ))
            zenoh_ports.append(zenoh_port)
            started = list(images)[:len(containers)]
            assert wait_until(lambda: joined(started), timeout=60, interval=0.5), \
                [c.logs().decode()[-2000:] for c in containers]
        settings = json.dumps({"iterations": ITERATIONS, "realtime": False, "record_dir": "/rec"})
        dataflow = images["jetson"].path / "app" / "dataflow.yaml"
        done = dora.run(["start", dataflow, *addr, "--name", "bundle-e2e", "--attach", "--exit-when-nodes-finish",
                         "--env", f"LK_RUN={settings}"], cwd=home, timeout=180, check=False)
        logs = [c.logs().decode(errors="replace")[-3000:] for c in containers]
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:], logs)
        dora.run(["down", *addr], check=False, timeout=30)
    finally:
        for container in containers:
            container.remove(force=True)
        coordinator.stop()
    assert coordinator.poll() is not None
    native = record.load(str(native_dir))
    assert native and sum(len(v) for v in native.values()) > ITERATIONS
    assert record.load(str(recorded)) == native


def test_cli_builds_and_saves_the_image(images, docker_daemon, base_image, tmp_path, monkeypatch):  # noqa: F811
    """`lkbuild bundle --image --save`: the build log streams with step progress; image.tar loads back."""
    import tarfile

    from click.testing import CliRunner

    from lkbuild.bundle import verify
    from lkbuild.cli import main

    monkeypatch.chdir(ROBOT.parent)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(main, [
        "bundle", "robot.py", "--machine", "nuc", "--offline", "--platform", "linux/amd64", "--python", "3.11",
        "--base-image", base_image, "--out", str(tmp_path), "--image", "--save",
    ], env={"DOCKER_HOST": docker_daemon.base_url}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "Downloading wheels for linux/amd64, CPython 3.11" in result.stderr
    assert any(line.startswith("[1/") and "FROM " + base_image in line for line in result.stderr.splitlines())
    image = images["nuc"].image  # same inputs, same tag
    assert f"Image {image} (sha256:" in result.stdout
    tarball = tmp_path / "bundles" / "nuc" / "image.tar"
    assert f"Image tarball: {tarball}" in result.stdout
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [image]
    assert verify(tarball.parent) == []  # image.tar sits beside the bundle's files, outside the manifest


def test_ros2_bundle_image_installs_offline_and_self_tests(robot_spec, docker_daemon, base_image, tmp_path):  # noqa: F811
    """The nuc as a ROS 2 machine: rclpy wheels (and a pure-Python wheel built from empy's sdist) install
    with no network, and the components build inside the image."""
    bundle = write_bundle(robot_spec, BundleOptions(machine="nuc", engine="ros2", offline=True,
                                                    platform="linux/amd64", python="3.11", base_image=base_image,
                                                    out=tmp_path))
    assert any(w.startswith("empy-") and w.endswith("-py3-none-any.whl") for w in bundle.wheels)
    build_image(bundle, docker_daemon)
    output = docker_daemon.run(bundle.image, ["selftest"], network_mode="none")
    assert "selftest ok: machine nuc: 2 components built (nuc/planner, nuc/controller); runtime ok" in output
