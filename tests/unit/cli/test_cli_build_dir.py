"""Which folders lkbuild builds into, and what `clean` (and a recompile) may delete: only what lkbuild made."""
from __future__ import annotations

import os

import pytest

WIRED = """\
camera = Source("camera", node=Node("vision", machine="jetson"))
sink = Sink("sink", node=Node("compute", machine="nuc"))
sink(x=camera.out)
system = System(components=[camera, sink], name="demo")
"""
PAIR = """\
camera = Source("camera")
sink = Sink("sink")
system = System(components=[camera, sink], name="pair")
"""
HINT = "Choose a directory of its own for the build, e.g. --out .lk_build (the default).\n"


def snapshot(folder):
    """Every path below folder with its bytes (None for a directory)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", [
    ["compile", "robot.py", "-e", "dora"],
    ["launch", "robot.py", "-n", "1"],
    ["bundle", "robot.py", "--machine", "nuc"],
    ["clean"],
])
def test_the_project_folder_is_refused_as_build_directory_and_nothing_changes(project, command):
    project.write("robot.py", WIRED)
    (project.root / "Makefile").write_text("all:\n\techo mine\n")
    (project.root / "system.json").write_text("{}")  # once enough for `clean` to delete the folder
    before = snapshot(project.root)
    result = project.run(*command, "--out", ".", code=2)
    assert result.stderr == (
        f"Error: refusing to use build directory '.' ({project.root.resolve()}): it is the project folder; "
        f"lkbuild would write and delete files among the sources. {HINT}")
    assert snapshot(project.root) == before


def test_a_folder_holding_the_sources_is_refused(project):
    project.write("robot/robot.py", WIRED)
    before = snapshot(project.root)
    result = project.run("compile", "robot/robot.py", "-e", "dora", "--out", "robot", code=2)
    assert "it holds the source file " in result.stderr and str(project.root / "robot" / "robot.py") in result.stderr
    assert snapshot(project.root) == before


@pytest.mark.parametrize("out, why", [
    ("..", "it holds the project folder"),
    ("/", "it is the file system's root"),
    ("~home~", "it is the home directory"),
    ("notes.txt", "it is not a directory"),
    ("photos", "it exists and was not made by lkbuild (there is no .lkbuild-files in it)"),
])
def test_folders_lkbuild_must_not_build_into_are_refused(project, out, why):
    project.write("robot.py", WIRED)
    (project.root / "notes.txt").write_text("mine")
    (project.root / "photos").mkdir()
    (project.root / "photos" / "cat.jpg").write_bytes(b"meow")
    out = os.environ["HOME"] if out == "~home~" else out
    before = snapshot(project.root)
    for command in (["compile", "robot.py", "-e", "dora"], ["bundle", "robot.py", "--machine", "nuc"]):
        result = project.run(*command, "--out", out, code=2)
        assert result.stderr.startswith(f"Error: refusing to use build directory '{out}'")
        assert f": {why}" in result.stderr and result.stderr.endswith(HINT)
    assert snapshot(project.root) == before


def test_clean_removes_what_lkbuild_made_and_keeps_a_users_file(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py", "-e", "dora")
    project.run("bundle", "robot.py", "--machine", "nuc")
    (project.root / ".lk_build" / "dora" / "my-notes.md").write_text("keep me")
    result = project.run("clean")
    assert result.stdout == "Removed what lkbuild made in .lk_build; kept 1 file it did not make: dora/my-notes.md\n"
    assert snapshot(project.root / ".lk_build") == {"dora": None, "dora/my-notes.md": b"keep me"}
    assert (project.root / "robot.py").is_file()


def test_clean_does_not_follow_a_symlink_out_of_the_build_directory(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py", "-e", "dora")
    mine = project.root / "mine"
    mine.mkdir()
    (mine / "vision.py").write_text("precious")  # named like a generated entrypoint
    nodes = project.root / ".lk_build" / "dora" / "nodes"
    for path in nodes.iterdir():
        path.unlink()
    nodes.rmdir()
    nodes.symlink_to(mine)
    project.run("clean")
    assert (mine / "vision.py").read_text() == "precious"


def test_a_damaged_manifest_proves_nothing_and_clean_deletes_nothing_it_lists(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py")
    (project.root / ".lk_build" / ".lkbuild-files").write_text("{not json")
    result = project.run("clean")
    kept = result.stdout.split("it did not make: ", 1)[1].strip().split(", ")
    # the compiled files stay, and the caches (what they hold depends on what this process read before)
    assert {"Makefile", "system.json"} <= set(kept) and all(
        k in ("Makefile", "system.json") or k.startswith("cache/") for k in kept), result.stdout


def test_a_recompile_leaves_only_the_files_of_the_system_it_compiled(project):
    """robot.py places Nodes on machines (dataflow.local.yaml, machines/); pair.py does not."""
    project.write("robot.py", WIRED)
    project.write("pair.py", PAIR)
    project.run("compile", "robot.py", "-e", "dora")
    dora = project.root / ".lk_build" / "dora"
    assert {"dataflow.local.yaml", "nodes/vision.py", "machines/jetson.sh"} <= set(snapshot(dora))
    (dora / "notes.md").write_text("mine")
    project.run("compile", "pair.py", "-e", "dora")
    files = {p for p, data in snapshot(dora).items() if data is not None and not p.startswith("lk_runtime/")}
    assert files == {".lkbuild-files", "dataflow.yaml", "nodes/local.py", "notes.md"}


def test_compiling_another_system_removes_the_previous_systems_programs(project):
    project.write("robot.py", WIRED)
    project.write("pair.py", PAIR)
    project.run("compile", "robot.py", "-e", "ros2")
    project.run("bundle", "robot.py", "--machine", "nuc")
    out = project.root / ".lk_build"
    assert (out / "ros2" / "src" / "demo" / "package.xml").is_file() and (out / "bundles" / "nuc").is_dir()
    project.run("compile", "pair.py", "-e", "ros2")
    assert sorted(p.name for p in (out / "ros2" / "src").iterdir()) == ["pair"]
    assert not (out / "bundles").exists()
    project.run("compile", "pair.py", "-e", "dora")  # the same system on another engine keeps both
    assert (out / "ros2" / "src" / "pair" / "package.xml").is_file()
    assert (out / "dora" / "dataflow.yaml").is_file()


def test_the_makefile_follows_the_system_and_a_hand_edited_one_is_made_again(project):
    """A compile skips rendering an unchanged Makefile; what it is made from, or the file, changing is seen."""
    project.write("robot.py", WIRED)
    project.write("pair.py", PAIR)
    makefile = project.root / ".lk_build" / "Makefile"
    project.run("compile", "robot.py")
    made = makefile.read_text()
    assert "system 'demo'" in made and "bundle-jetson" in made
    project.run("compile", "robot.py")
    assert makefile.read_text() == made
    makefile.write_text("all:\n\techo edited\n")
    project.run("compile", "robot.py")
    assert makefile.read_text() == made
    project.run("compile", "pair.py")
    assert "system 'pair'" in makefile.read_text() and "bundle-jetson" not in makefile.read_text()
