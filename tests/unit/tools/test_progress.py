"""Progress of long steps: one line rewritten on a terminal, nothing at all elsewhere."""
from __future__ import annotations

import io
import sys

from lkbuild.tools import Tool, wait_until
from lkbuild.tools.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_colcon_lines_become_a_count_that_is_cleared_at_the_end():
    out = Terminal()
    with Progress("colcon build", total=2, stream=out) as progress:
        for line in ["Starting >>> robot", "Finished <<< robot [1.2s]", "Starting >>> tools",
                     "Finished <<< tools [0.4s]"]:
            progress._drawn_at = 0.0  # draw every update
            progress.colcon_line(line)
    text = out.getvalue()
    assert "colcon build: 0/2 (0 s)" in text and "colcon build: 1/2 built robot" in text
    assert "colcon build: 2/2 built tools" in text
    assert "\n" not in text and text.endswith("\r")  # rewritten in place, erased when done


def test_not_a_terminal_nothing_is_written():
    out = io.StringIO()
    with Progress("downloading wheels", stream=out) as progress:
        progress.pip_line("Collecting numpy==2.1.0")
        progress.update(3, "x")
    assert out.getvalue() == "" and not progress.enabled


def test_pip_lines_count_the_distributions_collected():
    progress = Progress("wheels", stream=Terminal())
    for line in ["Collecting numpy==2.1.0", "  Downloading numpy-2.1.0.whl (16 MB)", "Collecting pyarrow"]:
        progress.pip_line(line)
    assert progress.done == 2 and progress.detail == "pyarrow"


def test_a_tool_run_streams_its_lines_and_still_returns_the_whole_output(tmp_path):
    class Python(Tool):
        name = "python"

        def executable(self):
            return sys.executable

    seen = []
    done = Python().run(["-c", "import sys; print('one'); print('two', file=sys.stderr)"], on_line=seen.append)
    assert seen == ["one", "two"] and done.stdout == "one\ntwo\n" and done.returncode == 0


def test_waiting_shows_nothing_off_a_terminal(capsys):
    assert wait_until(lambda: True, 1.0, waiting_for="daemons")
    assert capsys.readouterr().err == ""
