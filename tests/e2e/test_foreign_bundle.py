"""A bundle of a system with foreign dora nodes (node-hub packages pinning numpy<2), built offline into an
image with no network, whose self-test passes: the components' venv and the foreign nodes' own venv."""
from __future__ import annotations

import pytest

import foreign_systems
from docker_daemon import base_image, docker_daemon  # noqa: F401  (fixtures)
from lkbuild.bundle import BundleOptions, build_image, write_bundle

pytestmark = pytest.mark.e2e


def test_a_bundle_with_foreign_nodes_builds_offline_and_self_tests(docker_daemon, base_image, tmp_path):  # noqa: F811
    spec = foreign_systems.exchange_system(placed=True).spec()
    options = BundleOptions(machine="beta", offline=True, platform="linux/amd64", python="3.11",
                            base_image=base_image, out=tmp_path / ".lk_build")
    bundle = write_bundle(spec, options)
    # the foreign venv is pinned to what was tested here: numpy 1 beside the components' numpy 2
    assert "numpy==1.26.4" in bundle.foreign_requirements and "dora-echo==0.5.0" in bundle.foreign_requirements
    assert any(r.startswith("numpy==2.") for r in bundle.requirements)
    assert (bundle.path / "wheels-foreign").is_dir()
    pinned = (bundle.path / "foreign-requirements.txt").read_text()
    assert "numpy==1.26.4 \\\n    --hash=sha256:" in pinned and "dora-echo==0.5.0 \\\n    --hash=sha256:" in pinned
    dataflow = (bundle.path / "app" / "dataflow.yaml").read_text()
    assert "path: /opt/foreign/bin/dora-echo" in dataflow and "path: /opt/foreign/bin/pyarrow-sender" in dataflow
    log = []
    build_image(bundle, docker_daemon, on_line=log.append)  # network_mode=none: from the bundled wheels only
    assert any(line.startswith("Successfully built") for line in log), log[-5:]
    output = docker_daemon.run(bundle.image, ["selftest"], network_mode="none")
    assert ("selftest ok: machine beta: 4 components built (sink/keep, sink/keep_image, sink/keep_tick, "
            "sink/keep_text); runtime ok; foreign nodes: /opt/foreign/bin/dora-echo, "
            "/opt/foreign/bin/pyarrow-assert") in output
