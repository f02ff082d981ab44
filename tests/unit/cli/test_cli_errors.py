"""User errors: one line saying what, where and how to fix it; a traceback only with --debug."""
from __future__ import annotations

from lkbuild.engines import ENGINES

SYNTAX_ERROR = """\
from lkbuild import Component


class Broken(Component):
    def forward(self, x)
        return x
"""

UNGUARDED_LAUNCH = """\
source = Source()
sink = Sink()
system = System(components=[source, sink], name="demo")
system.launch(iterations=3)
"""


def test_a_missing_file(project):
    result = project.run("compile", "nope.py", code=2)
    assert result.stderr == "Error: nope.py: no such file. Pass the Python file that defines the system.\n"
    assert result.stdout == ""


def test_a_directory_is_not_a_system(project):
    (project.root / "robot").mkdir()
    result = project.run("inspect", "robot", code=2)
    assert result.stderr == "Error: robot is a directory. Pass the Python file that defines the system.\n"


def test_a_syntax_error_is_reported_at_file_line_column(project):
    project.write("robot.py", SYNTAX_ERROR, parts=False)
    result = project.run("inspect", "robot.py", code=2)
    assert result.stderr == "Error: robot.py:5:24: syntax error: expected ':'\n"


def test_check_reports_a_syntax_error_at_its_line(project):
    project.write("robot.py", SYNTAX_ERROR, parts=False)
    result = project.run("check", "robot.py", code=2)
    assert "robot.py:5:" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_launch_at_module_level_must_be_guarded(project):
    project.write("robot.py", UNGUARDED_LAUNCH)
    result = project.run("compile", "robot.py", code=2)
    line = next(i for i, text in enumerate((project.root / "robot.py").read_text().splitlines(), 1)
                if text.startswith("system.launch"))
    assert result.stderr == (
        f"Error: robot.py:{line}: system.launch() runs while lkbuild imports this file to read the system. "
        "Guard it with `if __name__ == \"__main__\":` so it runs only when the file is executed directly.\n"
    )
    assert not (project.root / ".lk_build" / "system.json").exists()


def test_a_guarded_launch_does_not_run_when_lkbuild_reads_the_file(project):
    project.write("robot.py", UNGUARDED_LAUNCH.replace("system.launch", "if __name__ == '__main__':\n    system.launch"))
    result = project.run("check", "robot.py")
    assert result.stdout == "ok: system 'demo': 2 components, 1 edge, 1 node (local)\n"


def test_an_unknown_engine_lists_the_known_ones(project):
    project.write("robot.py", "system = System(components=[Source(), Sink()], name='demo')\n")
    result = project.run("compile", "robot.py", "-e", "bogus", code=2)
    assert result.stderr == f"Error: Unknown engine 'bogus'. Known engines: {', '.join(sorted(ENGINES))}.\n"
    assert "native" in ENGINES


def test_an_exception_while_importing_names_the_users_line(project):
    project.write("robot.py", "x = 1\nvalue = {}['missing']\n", parts=False)
    result = project.run("inspect", "robot.py", code=2)
    assert result.stderr == "Error: robot.py:2: importing robot.py raised KeyError: 'missing'\n"


def test_no_traceback_without_debug(project):
    project.write("robot.py", SYNTAX_ERROR, parts=False)
    result = project.run("compile", "robot.py", code=2)
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(project):
    project.write("robot.py", UNGUARDED_LAUNCH)
    result = project.run("--debug", "compile", "robot.py", code=2)
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "lkbuild/system.py" in result.stderr                           # where lkbuild refused
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: robot.py:")
