"""How the installed ``lkbuild`` command ends: its exit code, the user's exit handlers, a reader gone away."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("lkbuild")

# Beside conftest.PARTS: a sink that prints, and an exit handler in the system file.
TALK = '''
import atexit
from pathlib import Path


@atexit.register
def _said_goodbye():
    Path("goodbye.txt").write_text("the system file's exit handler ran")


class Say(Component):
    outputs = ()

    def forward(self, x):
        print("line", x)


count, say = Source("count"), Say("say")
say(x=count.out)
system = System(components=[count, say], name="talk")
'''


def test_a_launch_exits_0_and_the_users_exit_handlers_run(project):
    project.write("talk.py", TALK)
    done = subprocess.run([str(SCRIPT), "launch", "talk.py", "-n", "2", "--fast"], cwd=project.root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("line 1") == 2 and "fired: count=2, say=2" in done.stdout
    assert (project.root / "goodbye.txt").read_text() == "the system file's exit handler ran"


def test_a_reader_that_stops_early_is_not_called_a_bug(project):
    project.write("talk.py", TALK)
    launch = subprocess.Popen([str(SCRIPT), "launch", "talk.py", "-n", "20000", "--fast"], cwd=project.root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert launch.stdout.readline().endswith("say | line 1\n")
    launch.stdout.close()  # as `| head -1` does
    err = launch.stderr.read()
    assert launch.wait(timeout=120) == 141, err
    assert "internal error" not in err and "Traceback" not in err
