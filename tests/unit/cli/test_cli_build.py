"""`inspect`, `compile`, `graph` and `clean`: what they write, and what a failure leaves alone."""
from __future__ import annotations

import json
import re

WIRED = """\
camera = Source("camera", node=Node("vision", machine="192.168.1.10"))
sink = Sink("sink", node=Node("compute", machine="nuc"))
sink(x=camera.out)
system = System(components=[camera, sink], name="demo")
"""
# WIRED with a second sink whose input nobody feeds.
BROKEN = WIRED.replace("[camera, sink]", "[camera, sink, Sink('lonely')]")


def snapshot(folder):
    """Every file below folder with its bytes and modification time."""
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_inspect_prints_the_systems_ir_as_json(project):
    project.write("robot.py", WIRED)
    spec = json.loads(project.run("inspect", "robot.py").stdout)
    assert spec["name"] == "demo"
    assert [c["name"] for c in spec["components"]] == ["camera", "sink"]
    assert [c["node"] for c in spec["components"]] == ["vision", "compute"]
    assert spec["edges"] == [{"src": "camera", "output": "out", "dst": "sink", "input": "x"}]
    assert {m["name"]: m["host"] for m in spec["machines"]} == {"vision": "192.168.1.10", "nuc": None}
    sink = spec["components"][1]
    assert [(p["name"], p["required"]) for p in sink["inputs"]] == [("x", True)]
    assert sink["outputs"] == []


def test_compile_writes_system_json(project):
    project.write("robot.py", WIRED)
    result = project.run("compile", "robot.py")
    assert result.stdout == (
        "Compiled system 'demo' (2 components, 2 nodes) for native: .lk_build/system.json\n"
    )
    written = json.loads((project.root / ".lk_build" / "system.json").read_text())
    assert written == json.loads(project.run("inspect", "robot.py").stdout)


def test_compile_to_another_directory(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py", "-o", "out")
    assert (project.root / "out" / "system.json").is_file()
    assert not (project.root / ".lk_build").exists()


def test_a_failed_compile_writes_nothing(project):
    project.write("robot.py", BROKEN)
    project.run("compile", "robot.py", code=2)
    assert not (project.root / ".lk_build").exists()


def test_a_failed_compile_leaves_the_previous_build_untouched(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py")
    before = snapshot(project.root / ".lk_build")
    project.write("robot.py", BROKEN)
    result = project.run("compile", "robot.py", code=2)
    assert "required input 'lonely.x' is not connected" in result.stderr
    assert snapshot(project.root / ".lk_build") == before


def test_an_unchanged_compile_does_not_rewrite_system_json(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py")
    path = project.root / ".lk_build" / "system.json"
    first = path.stat().st_mtime_ns
    project.run("compile", "robot.py")
    assert path.stat().st_mtime_ns == first


def test_graph_as_mermaid(project):
    project.write("robot.py", WIRED)
    result = project.run("graph", "robot.py")
    assert result.stdout == (
        "flowchart LR\n"
        '  subgraph n0["vision @ vision"]\n'
        '    c0["camera"]\n'
        "  end\n"
        '  subgraph n1["compute @ nuc"]\n'
        '    c1["sink"]\n'
        "  end\n"
        '  c0 -- "out → x" --> c1\n'
        "  style n0 fill:#4e79a722,stroke:#4e79a7\n"
        "  style n1 fill:#f28e2b22,stroke:#f28e2b\n"
    )


def test_graph_as_html_is_one_self_contained_page(project):
    project.write("robot.py", WIRED)
    result = project.run("graph", "robot.py", "--format", "html", "--output", "drawing.html")
    assert result.stdout == "Wrote drawing.html\n"
    page = (project.root / "drawing.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and ">camera</text>" in page and ">sink</text>" in page
    # Nothing is fetched from anywhere: no scripts, stylesheets, images or fonts by URL.
    assert not re.search(r"<script|<link|<img|@import|url\(\s*['\"]?(https?:)?//", page)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)


def test_graph_html_escapes_names(project):
    project.write("robot.py", """\
        camera = Source("<b>cam</b>")
        sink = Sink("sink&co")
        sink(x=camera.out)
        system = System(components=[camera, sink], name="<script>alert(1)</script>")
    """)
    project.run("graph", "robot.py", "--format", "html", "--output", "drawing.html")
    page = (project.root / "drawing.html").read_text()
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;cam&lt;/b&gt;" in page and "sink&amp;co" in page


def test_clean_removes_the_build_directory(project):
    project.write("robot.py", WIRED)
    project.run("compile", "robot.py")
    assert project.run("clean").stdout == "Removed .lk_build\n"
    assert not (project.root / ".lk_build").exists()
    assert project.run("clean").stdout == "Nothing to clean: .lk_build does not exist.\n"


def test_clean_refuses_a_directory_lkbuild_did_not_make(project):
    (project.root / "photos").mkdir()
    (project.root / "photos" / "cat.jpg").write_bytes(b"meow")
    result = project.run("clean", "-o", "photos", code=2)
    assert result.stderr == (
        "Error: refusing to clean 'photos': lkbuild did not make it (there is no .lkbuild-files in it); nothing "
        "was deleted. Remove it yourself if you are sure.\n"
    )
    assert (project.root / "photos" / "cat.jpg").read_bytes() == b"meow"


def test_pyproject_settings_are_option_defaults_and_the_command_line_wins(project):
    project.write("robot.py", WIRED)
    (project.root / "pyproject.toml").write_text('[tool.lkbuild]\nsystem = "robot.py"\nout = "build"\n')
    project.run("compile")
    assert (project.root / "build" / "system.json").is_file()
    project.run("compile", "-o", "elsewhere")
    assert (project.root / "elsewhere" / "system.json").is_file()
    assert not (project.root / ".lk_build").exists()
