"""A bundle carries lk_runtime once, and its programs import it under one name: one codec, one registry."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lkbuild.bundle import BundleOptions, write_bundle

# Imports what a node process of the bundle imports (the user's components through lkbuild's API, the
# engine adapter, the entrypoint), then lists every codec module object loaded.
PROBE = '''
import importlib, json, sys
import lkbuild
for name in sys.argv[1:]:
    importlib.import_module(name)
codecs = sorted(m.__name__ for m in list(sys.modules.values()) if (getattr(m, "__file__", "") or "").endswith("codec.py"))
from dataclasses import dataclass
from lkbuild.runtime_stubs.lk_runtime import codec
@lkbuild.message
@dataclass
class Probe:
    x: int = 1
print(json.dumps({"codecs": codecs, "file": codec.__file__, "same_register": codec.decode(codec.encode(Probe())) == Probe()}))
'''


@pytest.mark.parametrize("engine, modules", [
    ("dora", ["planning", "lkbuild.runtime_stubs.lk_runtime.dora_node"]),
    ("ros2", ["planning", "robot_lkbuild.node_nuc"]),
])
def test_a_bundle_holds_one_codec_and_its_programs_load_one(spec, tmp_path, engine, modules):
    import json

    bundle = write_bundle(spec, BundleOptions(machine="nuc", engine=engine, out=tmp_path / "out"))
    codecs = [p.relative_to(bundle.path).as_posix() for p in bundle.path.rglob("codec.py")]
    assert codecs == ["app/src/lkbuild/runtime_stubs/lk_runtime/codec.py"]
    app = bundle.path / "app"
    path = [str(app / "src")] + ([str(app / "ros2" / "src" / "robot")] if engine == "ros2" else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"codecs": ["lkbuild.runtime_stubs.lk_runtime.codec"], "same_register": True,
                      "file": str(app / "src" / "lkbuild" / "runtime_stubs" / "lk_runtime" / "codec.py")}
