"""Existing dora nodes inside a System: real node-hub packages from PyPI on the real dora binary.

``pyarrow-sender``, ``pyarrow-assert`` and ``dora-echo`` pin ``numpy<2`` (lkbuild's environment has numpy 2):
they run from a venv lkbuild makes under the build directory, shared by every test of this module.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time

import numpy as np
import pytest

import foreign_systems
from dora_cluster import alive, assert_nothing_left
from lkbuild.errors import ComponentError, ToolFailedError
from lkbuild.runtime_stubs.lk_runtime import codec, record

pytestmark = pytest.mark.e2e

TIMEOUT = 180
FRAMES = 4


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """One build directory for the module: the foreign venv is made once (~15 s)."""
    return tmp_path_factory.mktemp("foreign") / ".lk_build"


@pytest.fixture(autouse=True)
def nothing_left(tmp_path, build_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    yield
    assert_nothing_left(str(tmp_path))
    assert_nothing_left(str(build_dir / "dora"))


def launch(system, build_dir, tmp_path, **options):
    rec = tmp_path / "rec"
    started = time.monotonic()
    result = system.launch(engine="dora", out=build_dir, record_dir=rec, timeout=TIMEOUT, **options)
    print(f"launch took {time.monotonic() - started:.1f} s")
    assert result.pids and not alive(result.pids)
    return result, record.load(str(rec))


def digests(*values):
    """What the recording holds for these values: the sha256 of their exact encoding (dtype and shape too)."""
    return [hashlib.sha256(codec.encode(v)).hexdigest() for v in values]


def check_exchange(result, recorded):
    # lkbuild's end: exactly what pyarrow-sender sent (doubled), and what came back through dora-echo
    int64 = np.array([2, 4, 6], dtype=np.int64)
    assert recorded[("doubler", "out")] == digests(int64)
    assert recorded[("keep", "out")] == digests(int64)
    # images: (H, W, C) uint8, the same pixels after the flat uint8 + encoding/width/height round trip
    assert recorded[("keep_image", "out")] == digests(*(foreign_systems.frame(n) for n in range(FRAMES)))
    # the foreign timer is a source: exactly `iterations` ticks, counted from 0
    assert recorded[("keep_tick", "out")] == digests(*range(FRAMES))
    assert recorded[("keep_text", "out")] == digests(*(f"value {n}" for n in range(FRAMES)))
    assert result.boundary == {
        "doubler.out -> check.x": 1, "doubler.out -> echo.x": 1, "frames.out -> echo.img": FRAMES,
        "shout.out -> echo.s": FRAMES, "sender.data -> doubler.x": 1, "echo.x -> keep.x": 1,
        "echo.img -> keep_image.x": FRAMES, "ticks.tick -> shout.x": FRAMES, "ticks.tick -> keep_tick.x": FRAMES,
        "echo.s -> keep_text.x": FRAMES,
    }


def test_node_hub_packages_exchange_exact_values_with_components_on_one_machine(build_dir, tmp_path):
    system = foreign_systems.exchange_system()
    result, recorded = launch(system, build_dir, tmp_path, iterations=FRAMES)
    check_exchange(result, recorded)
    # they ran from their own venv, with numpy 1 (lkbuild's own has numpy 2): not a downgrade here
    dataflow = (build_dir / "dora" / "dataflow.yaml").read_text()
    venv = next((build_dir / "foreign").iterdir())
    assert f"path: {venv}/bin/dora-echo" in dataflow
    freeze = json.loads((venv / ".lk_installed.json").read_text())["freeze"]
    assert freeze["numpy"].startswith("1.") and np.__version__.startswith("2.")


def test_the_same_exchange_on_a_local_cluster_with_a_daemon_per_machine(build_dir, tmp_path):
    system = foreign_systems.exchange_system(placed=True)
    result, recorded = launch(system, build_dir, tmp_path, iterations=FRAMES, local_cluster=True)
    check_exchange(result, recorded)


def test_a_relay_whose_first_answer_comes_late_is_waited_for(build_dir, tmp_path):
    # its first answer comes over a second after the last frame went to it: still part of the run
    script = tmp_path / "late_echo"
    script.write_text(foreign_systems.LATE_RELAY.format(python=sys.executable, delay=1.5))
    script.chmod(0o755)
    result, recorded = launch(foreign_systems.late_relay_system(str(script)), build_dir, tmp_path,
                              iterations=FRAMES)
    assert recorded[("keep_image", "out")] == digests(*(foreign_systems.frame(n) for n in range(FRAMES)))
    assert result.boundary == {"frames.out -> late.img": FRAMES, "late.img -> keep_image.x": FRAMES}


def test_pyarrow_assert_fails_the_run_when_the_value_differs(build_dir, tmp_path):
    system = foreign_systems.exchange_system(expected=(2, 4, 7))
    with pytest.raises(ToolFailedError) as err:
        launch(system, build_dir, tmp_path, iterations=1)
    text = str(err.value)
    assert "foreign dora node 'check' (pyarrow-assert) exited with code 1" in text
    assert "AssertionError: Expected [\n  2,\n  4,\n  7\n], got [\n  2,\n  4,\n  6\n]" in text


def test_a_value_that_does_not_fit_the_port_format_fails_naming_the_port(build_dir, tmp_path):
    with pytest.raises(ComponentError) as err:
        launch(foreign_systems.exchange_system(misfit=True), build_dir, tmp_path, iterations=3)
    text = str(err.value)
    assert "component 'shout'" in text
    assert "port shout.out -> echo.s (format string): expected a str; received an int" in text


def test_the_foreign_example_runs_through_the_lkbuild_command(tmp_path):
    from example_runs import copy_example, lkbuild, private_env

    folder = copy_example("foreign", tmp_path)
    env = private_env(tmp_path)
    done = lkbuild(["launch", "foreign.py", "-n", "5"], folder, env, timeout=300)
    assert "fired: camera=5, calibrate=1" in done.stdout
    assert ("at the boundary with foreign endpoints: camera.out -> echo.image: 5, calibrate.out -> expect.offsets: 1, "
            "offsets.data -> calibrate.offsets: 1, echo.image -> brightness.image: 5, clock.tick -> brightness.tick: 5"
            ) in done.stdout
