"""How `lkbuild check` and `lkbuild compile` scale with the number of components, first run and cached.

Generates projects of 10, 100 and 1000 components (ten Component classes per module, each module with
third-party and local imports, a Config dataclass and two outputs), then runs the real CLI in a fresh
process for each measurement:

* first run: no inspection cache (every source is parsed with libcst);
* cached: the same command again, facts read from .lk_build/cache/inspect.

It prints seconds per component; linear growth means the per-component figures stay flat as the project
grows (the 10-component project is dominated by Python's start-up). Ratios, not absolute times, are
what to compare across machines.

Run: .venv/bin/python bench/inspect_scaling.py [sizes...]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_MODULE = 10

MODULE = '''\
"""Generated stage module {index}."""
from dataclasses import dataclass

import numpy as np

from lkbuild import Component
from helpers.math_utils import scale


{classes}'''

CLASS = '''\
class Stage{n}(Component):
    """Stage {n}: scales its input."""

    @dataclass
    class Config:
        gain: float = 1.0
        label: str = "stage-{n}"

    outputs = ("out", "debug")

    def setup(self):
        self.buffer = np.zeros(4)

    def forward(self, x):
        return {{"out": scale(x, self.config.gain), "debug": "ok"}}


'''

TICKER = '''\
from lkbuild import Component


class Ticker(Component):
    """The source every chain starts from."""

    def forward(self):
        return 1.0
'''

HELPERS = '''\
import math


def scale(value, gain):
    return value * gain if math.isfinite(gain) else value
'''


def generate(root: Path, components: int) -> Path:
    """A project with a source and ``components - 1`` chained stages; returns the system file."""
    (root / "helpers").mkdir(parents=True)
    (root / "helpers" / "__init__.py").write_text("")
    (root / "helpers" / "math_utils.py").write_text(HELPERS)
    (root / "stages").mkdir()
    (root / "stages" / "__init__.py").write_text("")
    (root / "stages" / "ticker.py").write_text(TICKER)
    imports, lines = ["from stages.ticker import Ticker"], []
    for start in range(0, components, PER_MODULE):
        index = start // PER_MODULE
        numbers = range(max(start, 1), min(start + PER_MODULE, components))
        classes = "".join(CLASS.format(n=n) for n in numbers)
        (root / "stages" / f"stage_{index:04d}.py").write_text(MODULE.format(index=index, classes=classes))
        imports.append(f"from stages.stage_{index:04d} import {', '.join(f'Stage{n}' for n in numbers)}")
    lines.append("s0 = Ticker(name='ticker')")
    for n in range(1, components):
        lines.append(f"s{n} = Stage{n}(name='stage_{n}')")
        lines.append(f"s{n}(x=s{n - 1}.outputs.out)")
    components_list = ", ".join(f"s{n}" for n in range(components))
    system = root / "robot.py"
    system.write_text("from lkbuild import System\n" + "\n".join(imports) + "\n\n" + "\n".join(lines) +
                      f"\n\nsystem = System(components=[{components_list}], name='bench')\n")
    return system


def timed(root: Path, *args: str) -> float:
    env = dict(os.environ, HOME=str(root), PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from lkbuild.cli import main; main()", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`lkbuild {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def measure(components: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lk_inspect_bench_") as tmp:
        root = Path(tmp)
        generate(root, components)
        cache = root / ".lk_build" / "cache" / "inspect"
        figures = {"check_first": timed(root, "check", "robot.py")}
        figures["check_cached"] = timed(root, "check", "robot.py")
        shutil.rmtree(root / ".lk_build")
        figures["compile_first"] = timed(root, "compile", "robot.py", "-e", "native")
        figures["compile_cached"] = timed(root, "compile", "robot.py", "-e", "native")
        figures["cache_files"] = len(list(cache.glob("*.json")))
    return figures


def main(sizes) -> None:
    base = timed(Path(tempfile.gettempdir()), "--help")  # Python + lkbuild start-up, for reference
    print(f"start-up (lkbuild --help): {base:.2f} s")
    print(f"{'components':>10} {'check 1st':>10} {'cached':>8} {'compile 1st':>12} {'cached':>8}   "
          f"(ms per component)   {'check 1st/cached':>16}")
    for n in sizes:
        f = measure(n)
        per = {k: 1000 * v / n for k, v in f.items() if k != "cache_files"}
        print(f"{n:>10} {per['check_first']:>10.1f} {per['check_cached']:>8.1f} {per['compile_first']:>12.1f} "
              f"{per['compile_cached']:>8.1f}   total s: {f['check_first']:.1f}/{f['check_cached']:.1f}/"
              f"{f['compile_first']:.1f}/{f['compile_cached']:.1f}   x{f['check_first'] / f['check_cached']:.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
