"""Running the examples through the real `lkbuild` command, as a user would, for the e2e tests."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LKBUILD = Path(sys.executable).with_name("lkbuild")


def private_env(tmp_path: Path) -> Dict[str, str]:
    """The environment with a private HOME, so nothing leaks into (or out of) the user's."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}


def copy_example(name: str, tmp_path: Path) -> Path:
    """The example's folder, copied so runs write nothing into the repository."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".lk_build", "__pycache__", "rec*"))
    return target


def lkbuild(args, cwd: Path, env, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `lkbuild ARGS`; it must succeed without printing a traceback."""
    return run([LKBUILD, *args], cwd, env, timeout)


def run(cmd, cwd: Path, env, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run a command; it must succeed without printing a traceback."""
    cmd = [str(part) for part in cmd]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done
