"""The wheel, installed into a fresh venv outside the repository, works on its own.

One wheel and one venv for the whole module: building and installing take most of the time.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# Source folder -> the package it installs as (pyproject's [tool.setuptools.package-dir]).
PACKAGE_DIRS = {"lkbuild": "lkbuild", "generators": "lkbuild.generators", "runtime_stubs": "lkbuild.runtime_stubs"}
HEAVY = ("jinja2", "libcst", "click", "yaml", "docker")


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HOME=str(home), PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def run(args, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, venv folder, environment, a scratch folder outside the sources)."""
    root = tmp_path_factory.mktemp("packaging")
    env = clean_env(root / "home")
    (root / "home").mkdir()
    src = root / "src"
    src.mkdir()
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the repository.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in PACKAGE_DIRS:
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "-w", root / "dist", "-q"], root, env)
    wheel = next((root / "dist").glob("lkbuild-*.whl"))
    venv = root / "venv"
    run([sys.executable, "-m", "venv", venv], root, env)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], root, env)
    scratch = root / "scratch"
    scratch.mkdir()
    return wheel, venv, env, scratch


def source_packages():
    """Every package in the source tree, by the name it installs as."""
    found = set()
    for folder, package in PACKAGE_DIRS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((package,) + parts))
    return found


def source_templates():
    return {"lkbuild/generators/" + p.relative_to(REPO / "generators").as_posix()
            for p in (REPO / "generators").rglob("*.j2")}


def test_the_wheel_holds_every_package_and_template(installed):
    wheel, _, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {n[: -len("/__init__.py")].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    missing = source_packages() - packages
    assert not missing, f"packages missing from the wheel (add them to [tool.setuptools] packages): {missing}"
    assert source_templates() <= names
    assert not [n for n in names if n.split("/")[0] in ("generators", "runtime_stubs", "tests", "examples")]


def test_the_installed_package_is_one_namespace_with_its_templates(installed):
    _, venv, env, scratch = installed
    probe = """
import importlib.resources, importlib.util, json, lkbuild
import lkbuild.generators, lkbuild.runtime_stubs.lk_runtime.codec as codec

def templates(folder, prefix=""):
    for item in folder.iterdir():
        if item.is_dir():
            yield from templates(item, prefix + item.name + "/")
        elif item.name.endswith(".j2"):
            yield prefix + item.name

root = importlib.resources.files("lkbuild.generators")
found = sorted(templates(root))
print(json.dumps({
    "lkbuild": lkbuild.__file__,
    "top_level": {m: importlib.util.find_spec(m) is not None for m in ("generators", "runtime_stubs", "lk_runtime")},
    "templates": found,
    "first": root.joinpath(found[0]).read_text() if found else None,
    "roundtrip": codec.decode(codec.encode({"a": [1, 2.5, "x"]})),
}))
"""
    report = json.loads(run([venv / "bin" / "python", "-c", probe], scratch, env).stdout)
    assert report["lkbuild"].startswith(str(venv))
    assert report["top_level"] == {"generators": False, "runtime_stubs": False, "lk_runtime": False}
    expected = sorted(t[len("lkbuild/generators/"):] for t in source_templates())
    assert report["templates"] == expected
    assert report["first"] == (REPO / "generators" / expected[0]).read_text()
    assert report["roundtrip"] == {"a": [1, 2.5, "x"]}


@pytest.mark.parametrize("where", ["fresh venv", "development venv"])
def test_importing_lkbuild_stays_light(installed, where):
    _, venv, env, scratch = installed
    python = venv / "bin" / "python" if where == "fresh venv" else Path(sys.executable)
    probe = ("import sys, json, lkbuild; "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    assert json.loads(run([python, "-c", probe], scratch, env).stdout) == []


def test_the_installed_command_runs_an_example(installed):
    _, venv, env, scratch = installed
    folder = scratch / "pipeline"
    shutil.copytree(REPO / "examples" / "pipeline", folder, ignore=shutil.ignore_patterns(".lk_build", "__pycache__"))
    lkbuild = venv / "bin" / "lkbuild"
    assert run([lkbuild, "--version"], folder, env).stdout.strip().endswith("0.1.0")
    done = run([lkbuild, "launch", "pipeline.py", "-e", "native", "-n", "5", "--fast"], folder, env)
    assert "analyzer: 5 windows, dominant frequency: 2 periods per window" in done.stdout
    assert "fired: generator=5, processor=5, analyzer=5" in done.stdout
    assert (folder / ".lk_build" / "system.json").is_file()
