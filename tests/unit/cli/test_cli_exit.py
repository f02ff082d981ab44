"""How the installed ``lkbuild`` command ends: its exit code, the user's exit handlers, a reader gone away."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("lkbuild")

SYSTEM = '''
import atexit
from pathlib import Path

from lkbuild import Component, System


@atexit.register
def _said_goodbye():
    Path("goodbye.txt").write_text("the system file's exit handler ran")


class Count(Component):
    def forward(self):
        return 1


class Say(Component):
    outputs = ()

    def forward(self, x):
        print("line", x)


count, say = Count("count"), Say("say")
say(x=count.out)
system = System(components=[count, say], name="talk")
'''


def test_a_launch_exits_0_and_the_users_exit_handlers_run(tmp_path):
    (tmp_path / "talk.py").write_text(SYSTEM)
    done = subprocess.run([str(SCRIPT), "launch", "talk.py", "-n", "2", "--fast"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("line 1") == 2 and "fired: count=2, say=2" in done.stdout
    assert (tmp_path / "goodbye.txt").read_text() == "the system file's exit handler ran"


def test_a_reader_that_stops_early_is_not_called_a_bug(tmp_path):
    (tmp_path / "talk.py").write_text(SYSTEM)
    launch = subprocess.Popen([str(SCRIPT), "launch", "talk.py", "-n", "20000", "--fast"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert launch.stdout.readline().endswith("say | line 1\n")
    launch.stdout.close()  # as `| head -1` does
    err = launch.stderr.read()
    assert launch.wait(timeout=120) == 141, err
    assert "internal error" not in err and "Traceback" not in err
