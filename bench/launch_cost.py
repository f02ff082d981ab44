"""What a launch costs before and after the work: ``lkbuild launch -n 1 --fast`` of a one-Node dora
system against ``dora run`` of the same dataflow written by hand.

    .venv/bin/python bench/launch_cost.py [--repeat 9]

The system is a source and a sink in one Node (one process); the source fires once. The hand-written
side is one dora node doing the same in a plain script: what a dora user runs for that job, started the
way they start it (``dora run dataflow.yml``). Both are whole commands as a user waits for them, timed
alternately; each figure is the median. lkbuild's figure includes reading the system file (its
inspection cache warm: the first, untimed, run fills it), compiling (nothing rewritten when the plan is
unchanged), starting dora and reading the report.

A third side, the floor, is what no launch that runs the user's program can go below: the system file
run once in the launching process, ``dora run`` forked from it, and a node that imports the system file
before doing the hand-written node's job (see ``FLOOR_LAUNCH``). A fourth, no compile, is the best a
launch could do by skipping the compiler when the System is the one compiled last (see
``NO_COMPILE_LAUNCH``): lkbuild's own loader, tool wrapper and Node, nothing checked.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lkbuild.tools.dora import Dora  # noqa: E402

BIN = Path(sys.executable).parent

SYSTEM = '''
from lkbuild import Component, System


class Source(Component):
    def forward(self):
        return 1


class Sink(Component):
    outputs = ()

    def forward(self, x):
        print("got", x)


source, sink = Source("source"), Sink("sink")
sink(x=source.out)
system = System(components=[source, sink], name="once")
'''

HAND_NODE = '''
from dora import Node

node = Node()
value = 1  # the source's one firing, handed to the sink in the same process
print("got", value)
'''

HAND_DATAFLOW = '''nodes:
  - id: once
    path: {python}
    args: -u {script}
'''

# The floor: what any launch that runs the user's program where it must run cannot go below. The user's
# system file is Python: a launch that compiles it runs it once (to read the System), and the Node's
# process imports it again (to build the components). Everything else here is the hand-written run, with
# `dora run` forked from the process that read the system, as lkbuild forks it.
FLOOR_LAUNCH = '''
import os, runpy, sys
runpy.run_path(sys.argv[1])
pid = os.fork()
if pid == 0:
    from dora_cli import py_main
    sys.argv = ["dora", "run", sys.argv[2]]
    py_main()
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.stdout.flush()
os._exit(os.waitstatus_to_exitcode(status))  # as the lkbuild command exits (lkbuild.cli.run)
'''

# What a launch that skipped the compiler would cost at best, were the System it loaded known to be the one
# compiled last: click imported (the CLI's parser), the system file run by lkbuild's loader, `dora run` of
# the last compile's dataflow forked by lkbuild's tool wrapper, and the Node's summary read from its log. No
# IR is built or checked, so this is a bound, not a launch: it would run a stale program as readily.
NO_COMPILE_LAUNCH = '''
import json, os, sys
from pathlib import Path

import click  # noqa: F401  (the CLI parses its arguments with it)
from lkbuild.loader import load_system
from lkbuild.runtime_stubs.lk_runtime.settings import Settings
from lkbuild.tools.dora import Dora
from lkbuild.tools.supervise import Supervisor

load_system(sys.argv[1], Path.cwd())
root = Path(".lk_build/dora").resolve()
before = set((root / "out").iterdir())
env = {**Settings(1, False).to_env(), "HOME": os.environ["HOME"]}
process = Dora(home=root / "home").run_dataflow(root / "dataflow.yaml", env, root / "logs" / "no-compile.log")
if Supervisor(process).wait(None, 60).code:
    sys.exit(1)
run = max(set((root / "out").iterdir()) - before, key=lambda p: p.stat().st_mtime)
for line in (run / "log_local.jsonl").read_text().splitlines():
    if "LK_SUMMARY" in line:
        print(json.loads(line)["msg"])
sys.stdout.flush()
os._exit(0)  # as the lkbuild command exits (lkbuild.cli.run)
'''

FLOOR_NODE = '''
import runpy, sys
runpy.run_path(sys.argv[1])
from dora import Node

node = Node()
value = 1
print("got", value)
'''

FLOOR_DATAFLOW = '''nodes:
  - id: once
    path: {python}
    args: -u {script} {system}
'''


def timed(command, cwd: Path, env) -> float:
    start = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lk-launch-") as tmp:
        work = Path(tmp)
        env = Dora(home=work / "home").environment()
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: both sides' imports use .pyc files
        (work / "once.py").write_text(SYSTEM)
        (work / "hand_node.py").write_text(HAND_NODE)
        (work / "dataflow.yml").write_text(HAND_DATAFLOW.format(python=sys.executable, script=work / "hand_node.py"))
        (work / "floor_launch.py").write_text(FLOOR_LAUNCH)
        (work / "floor_node.py").write_text(FLOOR_NODE)
        (work / "no_compile.py").write_text(NO_COMPILE_LAUNCH)
        (work / "floor.yml").write_text(FLOOR_DATAFLOW.format(python=sys.executable, script=work / "floor_node.py",
                                                              system=work / "once.py"))
        commands = {
            "hand": [str(BIN / "dora"), "run", "dataflow.yml"],
            "lk": [str(BIN / "lkbuild"), "launch", "once.py", "--engine", "dora", "-n", "1", "--fast"],
            "floor": [sys.executable, "floor_launch.py", "once.py", "floor.yml"],
            "no compile": [sys.executable, "no_compile.py", "once.py"],  # after lkbuild's: it runs that build
        }
        for command in commands.values():
            timed(command, work, env)  # lkbuild's fills the inspection cache and the build directory
        times = {name: [] for name in commands}
        for i in range(args.repeat):
            order = list(commands) if i % 2 == 0 else list(reversed(commands))
            for name in order:
                times[name].append(timed(commands[name], work, env))
    hand_s, lk_s, floor_s, bare_s = (statistics.median(times[name]) for name in ("hand", "lk", "floor", "no compile"))
    print(f"{'figure':<44}{'hand-written':>14}{'lkbuild':>10}{'ratio':>8}   target")
    print(f"{'one-Node dora launch, -n 1 --fast (s)':<44}{hand_s:>14.3f}{lk_s:>10.3f}{lk_s / hand_s:>8.2f}   <= 1.50")
    print(f"{'no compile: the last build run, unchecked (s)':<44}{hand_s:>14.3f}{bare_s:>10.3f}{bare_s / hand_s:>8.2f}")
    print(f"{'the floor: the system file run twice (s)':<44}{hand_s:>14.3f}{floor_s:>10.3f}{floor_s / hand_s:>8.2f}")


if __name__ == "__main__":
    main()
