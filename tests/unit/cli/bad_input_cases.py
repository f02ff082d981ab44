"""The bad-input table: each row is a small project and one lkbuild command that must refuse it.

``body`` is the system file ``robot.py`` (after the two usual components, Source and Sink); the line
marked ``# <-`` is where the message must point (``robot.py:N``). ``where`` names another location the
message must contain (``pyproject.toml``), ``says`` a phrase it must contain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Case:
    id: str
    body: str = "system = System(components=[Source(), Sink()], name='demo')\n"
    args: Tuple[str, ...] = ("check", "robot.py")
    files: Dict[str, str] = field(default_factory=dict)
    where: Optional[str] = None
    says: str = ""
    parts: bool = True


GOOD = "system = System(components=[Source(), Sink()], name='demo')\n"
PLACED = ("source = Source(node=Node('jetson', machine='jetson'))\nsink = Sink(node=source.node)\n"
          "sink(x=source.out)\nsystem = System(components=[source, sink], name='demo')\n")
COMMANDS = (("check", "robot.py"), ("compile", "robot.py"), ("launch", "robot.py", "-n", "1", "--fast"))


def each_command(id: str, body: str, says: str = "", commands=COMMANDS, **extra):
    """One row per command: check, compile and launch all refuse the same system before doing anything."""
    return [Case(f"{id}-{'-'.join(a for a in args if a not in ('robot.py', '-n', '1', '--fast', '-d', '5')).replace('--', '-')}", body, args,
                 says=says, **extra) for args in commands]


def pyproject(text: str) -> Dict[str, str]:
    return {"pyproject.toml": "[tool.lkbuild]\n" + text + "\n"}


WITH_CONFIG = '''\
from dataclasses import dataclass


class Detector(Component):
    @dataclass
    class Config:
        threshold: int = 1

    outputs = ()

    def forward(self, x):
        pass


'''

MULTI = '''\
class Pair(Component):
    outputs = ("left", "right")

    def forward(self):
        return 1, 2


class Two(Component):
    outputs = ()

    def forward(self, a, b):
        pass


'''

QUEUES = '''\
class Queued(Component):
    outputs = ()
    input_queues = {queues}

    def forward(self, x):
        pass


source = Source()
queued = Queued()  # <-
system = System(components=[source, queued], name="demo")
'''


def queued(queues: str) -> str:
    return QUEUES.replace("{queues}", queues)


OPTIONS = [
    Case("out-names-a-file", args=("compile", "robot.py", "--out", "robot.py"), says="not a directory"),
    Case("out-names-the-system-file", args=("compile", "robot.py", "-o", "good.py"), says="not a directory"),
    Case("out-below-a-file", args=("compile", "robot.py", "-o", "good.py/build"), says="cannot be created"),
    Case("out-unwritable", args=("compile", "robot.py", "-o", "/proc/lkbuild-out"), says="cannot be"),
    Case("launch-out-names-a-file", args=("launch", "robot.py", "-n", "1", "-o", "good.py"), says="not a directory"),
    Case("bundle-out-names-a-file", PLACED, args=("bundle", "robot.py", "-m", "jetson", "-o", "good.py"),
         says="not a directory"),
    Case("clean-out-names-a-file", args=("clean", "--out", "good.py"), says="not a directory"),
    Case("clean-foreign-dir", args=("clean", "--out", "elsewhere"), files={"elsewhere/keep.txt": "mine"},
         says="refusing"),
    Case("directory-missing", args=("-C", "/nonexistent", "check", "robot.py"), says="/nonexistent"),
    Case("directory-is-a-file", args=("-C", "good.py", "check", "robot.py"), says="good.py"),
    Case("placement-no-profile", args=("placement", "robot.py"), says="launch --profile"),
    Case("placement-profile-not-json", args=("placement", "robot.py", "--profile", "p.json"),
         files={"p.json": "{not json"}, says="not JSON"),
    Case("placement-profile-not-ours", args=("placement", "robot.py", "--profile", "p.json"),
         files={"p.json": '{"schema": 99}'}, says="not an lkbuild profile"),
    Case("placement-what-if-no-equals", args=("placement", "robot.py", "--profile", "p.json", "--what-if", "source"),
         files={"p.json": '{"schema": 1, "components": {}, "edges": []}'}, says="component=node"),
    Case("graph-profile-missing", args=("graph", "robot.py", "--format", "html", "--profile", "nope.json"),
         says="cannot read the profile"),
    Case("duration-nan", args=("launch", "robot.py", "-n", "1", "--fast", "--duration", "nan"), says="duration"),
    Case("duration-inf", args=("launch", "robot.py", "-n", "1", "--fast", "--duration", "inf"), says="duration"),
    Case("duration-negative", args=("launch", "robot.py", "-n", "1", "--fast", "--duration", "-1")),
    Case("duration-zero", args=("launch", "robot.py", "-n", "1", "--fast", "--duration", "0")),
    Case("duration-text", args=("launch", "robot.py", "-n", "1", "--fast", "--duration", "soon")),
    Case("iterations-negative", args=("launch", "robot.py", "-n", "-1")),
    Case("iterations-text", args=("launch", "robot.py", "-n", "many")),
    Case("record-names-a-file", args=("launch", "robot.py", "-n", "1", "--record", "good.py"), says="good.py"),
    Case("record-mcap-is-a-directory", args=("launch", "robot.py", "-n", "1", "--record", "old.mcap"),
         files={"old.mcap/keep": ""}, says="is a directory"),
    Case("diff-not-a-recording", args=("diff", "robot.py", "robot.py"), says="not a readable MCAP recording"),
    Case("diff-missing-recording", args=("diff", "none.mcap", "robot.py"), says="cannot read the recording none.mcap"),
    Case("replay-not-a-recording", args=("replay", "robot.py", "robot.py"), says="not a readable MCAP recording"),
    Case("engine-unknown-compile", args=("compile", "robot.py", "-e", "bogus"), says="Unknown engine"),
    Case("engine-unknown-launch", args=("launch", "robot.py", "-e", "bogus", "-n", "1"), says="Unknown engine"),
    Case("engine-unknown-check", args=("check", "robot.py", "-e", "bogus"), says="Unknown engine"),
    Case("cluster-and-coordinator", args=("launch", "robot.py", "-e", "dora", "-n", "1", "--local-cluster",
                                          "--coordinator-addr", "127.0.0.1"), says="not both"),
    Case("native-local-cluster", args=("launch", "robot.py", "-n", "1", "--local-cluster"), says="native"),
    Case("ros2-coordinator", args=("launch", "robot.py", "-e", "ros2", "-n", "1", "--coordinator-addr",
                                   "127.0.0.1"), says="ros2"),
    Case("coordinator-bad-port", args=("launch", "robot.py", "-e", "dora", "-n", "1", "--coordinator-addr",
                                       "127.0.0.1:http"), says="HOST:PORT"),
    Case("bundle-unknown-machine", PLACED, args=("bundle", "robot.py", "--machine", "mars"), says="mars"),
    Case("bundle-machine-path", PLACED, args=("bundle", "robot.py", "--machine", "../etc"), says="../etc"),
    Case("bundle-native-engine", PLACED, args=("bundle", "robot.py", "-m", "jetson", "-e", "native"), says="native"),
    Case("graph-bad-format", args=("graph", "robot.py", "--format", "svg")),
    Case("graph-output-is-a-directory", args=("graph", "robot.py", "--output", ".")),
    Case("inspect-bad-format", args=("inspect", "robot.py", "--format", "yaml")),
    Case("check-bad-format", args=("check", "robot.py", "--format", "xml")),
    Case("unknown-option", args=("compile", "robot.py", "--turbo")),
    Case("unknown-command", args=("deploy", "robot.py")),
    Case("system-missing", args=("check", "nope.py"), says="no such file"),
    Case("system-directory", args=("compile", "sub"), files={"sub/x.py": ""}, says="directory"),
    Case("system-not-python", args=("compile", "notes.txt"), files={"notes.txt": "hi"}, says=".py"),
    Case("system-bad-attribute", args=("compile", "robot.py:1x"), says="attribute"),
    Case("system-missing-attribute", args=("compile", "robot.py:nope"), says="nope"),
    Case("system-attribute-not-a-system", args=("compile", "robot.py:Source"), says="not a System"),
    Case("system-file-name", args=("compile", "my-robot.py"), files={"my-robot.py": "x = 1\n"},
         says="module name"),
    Case("no-system-no-pyproject", args=("compile",), says="No SYSTEM"),
]

PYPROJECT = [
    Case("pyproject-system-number", args=("compile",), files=pyproject("system = 5"), where="pyproject.toml"),
    Case("pyproject-system-missing-file", args=("compile",), files=pyproject('system = "nope.py"'),
         where="pyproject.toml"),
    Case("pyproject-engine-number", files=pyproject("engine = 5"), args=("compile", "robot.py"),
         where="pyproject.toml"),
    Case("pyproject-engine-unknown", files=pyproject('engine = "bogus"'), args=("compile", "robot.py"),
         where="pyproject.toml"),
    Case("pyproject-iterations-text", files=pyproject('iterations = "many"'), args=("launch", "robot.py", "-d", "1"),
         where="pyproject.toml"),
    Case("pyproject-iterations-negative", files=pyproject("iterations = -3"), args=("launch", "robot.py", "-d", "1"),
         where="pyproject.toml"),
    Case("pyproject-out-number", files=pyproject("out = 5"), args=("compile", "robot.py"), where="pyproject.toml"),
    Case("pyproject-out-a-file", files=pyproject('out = "good.py"'), args=("compile", "robot.py"),
         where="pyproject.toml"),
    Case("pyproject-coordinator-number", files=pyproject("coordinator_addr = 5"),
         args=("launch", "robot.py", "-e", "dora", "-n", "1", "-d", "5"), where="pyproject.toml"),
    Case("pyproject-unknown-key", files=pyproject('engin = "dora"'), args=("compile", "robot.py"),
         where="pyproject.toml", says="engin"),
    Case("pyproject-not-toml", files={"pyproject.toml": "[tool.lkbuild\nsystem = "}, where="pyproject.toml"),
    Case("pyproject-not-a-table", files={"pyproject.toml": "[tool]\nlkbuild = 5\n"}, where="pyproject.toml"),
]

LONG = "a" * 300

NODES = [
    *each_command("node-name-number", "source = Source(node=Node(5))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    Case("node-name-empty", "source = Source(node=Node(''))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    *each_command("node-name-chars", "source = Source(node=Node('my node'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="my node"),
    *each_command("node-name-long", f"source = Source(node=Node('{LONG}'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="255"),
    Case("node-name-underscore", "source = Source(node=Node('_hidden'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
         args=("compile", "robot.py")),
    *each_command("node-engine-unknown", "source = Source(node=Node('a', engine='bogus'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="bogus"),
    Case("node-engine-number", "source = Source(node=Node('a', engine=5))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    Case("node-machine-number", "source = Source(node=Node('a', machine=5))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    Case("node-machine-chars", "source = Source(node=Node('a', machine='my machine!'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    Case("machine-preset-unknown", "from lkbuild import Machine\nm = Machine.preset('cray')  # <-\nsystem = System(components=[Source(), Sink()], name='demo')\n",
         says="cray"),
    Case("machine-arch-unknown", "from lkbuild import Machine\nsource = Source(node=Node('a', machine=Machine('m', arch='sparc')))  # <-\nsystem = System(components=[source, Sink(node=source.node)], name='demo')\n",
         args=("compile", "robot.py"), says="sparc"),
    Case("machine-name-long", f"from lkbuild import Machine\nsource = Source(node=Node('a', machine=Machine('{LONG}')))  # <-\nsystem = System(components=[source, Sink(node=source.node)], name='demo')\n",
         says="255"),
    *each_command("mixed-engines", "source = Source(node=Node('a', engine='dora'))\nsink = Sink(node=Node('b', engine='ros2'))  # <-\nsink(x=source.out)\nsystem = System(components=[source, sink], name='demo')\n",
                  says="different engines"),
    Case("two-nodes-one-name", "source = Source(node=Node('a'))\nsink = Sink(node=Node('a'))  # <-\nsink(x=source.out)\nsystem = System(components=[source, sink], name='demo')\n",
         args=("compile", "robot.py")),
    Case("node-as-string", "source = Source(node='jetson')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
]

COMPONENTS = [
    *each_command("name-number", "source = Source(name=5)  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    Case("name-empty", "source = Source(name='')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n"),
    *each_command("name-chars", "source = Source(name='my camera')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="my camera"),
    *each_command("name-long", f"source = Source(name='{LONG}')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="255"),
    Case("name-underscore", "source = Source(name='_cam')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
         args=("compile", "robot.py")),
    *each_command("rate-zero", "source = Source(rate_hz=0)  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="rate_hz"),
    Case("rate-negative", "source = Source(rate_hz=-5)  # <-\nsystem = System(components=[source, Sink()], name='demo')\n", says="rate_hz"),
    Case("rate-nan", "source = Source(rate_hz=float('nan'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n", says="rate_hz"),
    Case("rate-inf", "source = Source(rate_hz=float('inf'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n", says="rate_hz"),
    Case("rate-text", "source = Source(rate_hz='fast')  # <-\nsystem = System(components=[source, Sink()], name='demo')\n", says="rate_hz"),
    Case("rate-bool", "source = Source(rate_hz=True)  # <-\nsystem = System(components=[source, Sink()], name='demo')\n", says="rate_hz",
         args=("compile", "robot.py")),
    Case("rate-class-attribute", "class Fast(Source):\n    rate_hz = -1\n\n\nfast = Fast()  # <-\nsystem = System(components=[fast, Sink()], name='demo')\n",
         says="rate_hz", args=("compile", "robot.py")),
    *each_command("outputs-number", "class Bad(Component):  # <-\n    outputs = 5\n\n    def forward(self):\n        return 1\n\n\nsystem = System(components=[Bad(), Sink()], name='demo')\n",
                  says="outputs"),
    Case("outputs-mixed", "class Bad(Component):  # <-\n    outputs = ('a', 5)\n\n    def forward(self):\n        return 1\n\n\nsystem = System(components=[Bad()], name='demo')\n",
         says="outputs", args=("compile", "robot.py")),
    Case("outputs-repeated", "class Bad(Component):  # <-\n    outputs = ('a', 'a')\n\n    def forward(self):\n        return 1\n\n\nbad = Bad()\nsystem = System(components=[bad], name='demo')\n",
         says="'a'", args=("compile", "robot.py")),
    Case("output-name-chars", "class Bad(Component):\n    outputs = ('my out',)\n\n    def forward(self):\n        return 1\n\n\nbad = Bad()  # <-\nsystem = System(components=[bad, Sink()], name='demo')\n",
         args=("compile", "robot.py"), says="my out"),
    Case("input-name-long", f"class Bad(Component):\n    outputs = ()\n\n    def forward(self, {LONG}):\n        pass\n\n\nbad = Bad()  # <-\nsource = Source()\nbad({LONG}=source.out)\nsystem = System(components=[source, bad], name='demo')\n",
         args=("compile", "robot.py"), says="255"),
    Case("input-name-underscore", "class Bad(Component):\n    outputs = ()\n\n    def forward(self, _x):\n        pass\n\n\nbad = Bad()  # <-\nsystem = System(components=[Source(), bad], name='demo')\n",
         args=("compile", "robot.py"), says="_x"),
    Case("no-forward", "class Bad(Component):  # <-\n    pass\n\n\nbad = Bad()\nsystem = System(components=[bad], name='demo')\n", says="forward"),
    Case("no-forward-compile", "class Bad(Component):  # <-\n    pass\n\n\nbad = Bad()\nsystem = System(components=[bad], name='demo')\n",
         args=("compile", "robot.py"), says="forward"),
    Case("forward-args", "class Bad(Component):\n    def forward(self, *xs):  # <-\n        pass\n\n\nbad = Bad()\nsystem = System(components=[bad], name='demo')\n",
         args=("compile", "robot.py"), says="*xs"),
    *each_command("forward-kwargs", "class Bad(Component):\n    def forward(self, **kw):  # <-\n        pass\n\n\nbad = Bad()\nsystem = System(components=[bad], name='demo')\n",
                  says="**kw"),
    Case("config-number", WITH_CONFIG + "d = Detector('d', config=5)  # <-\nsystem = System(components=[Source(), d], name='demo')\n",
         args=("compile", "robot.py"), says="config"),
    Case("config-unknown-field", WITH_CONFIG + "d = Detector('d', config={'nope': 1})  # <-\nsystem = System(components=[Source(), d], name='demo')\n",
         args=("compile", "robot.py"), says="nope"),
    *each_command("config-wrong-type", WITH_CONFIG + "d = Detector('d', config=Detector.Config(threshold='high'))  # <-\nsystem = System(components=[Source(), d], name='demo')\n",
                  says="threshold"),
    Case("config-dict-wrong-type", WITH_CONFIG + "d = Detector('d', config={'threshold': [1]})  # <-\nsystem = System(components=[Source(), d], name='demo')\n",
         args=("compile", "robot.py"), says="threshold"),
    Case("config-without-class", "sink = Sink(config=5)  # <-\nsystem = System(components=[Source(), sink], name='demo')\n",
         args=("compile", "robot.py"), says="Config"),
    *each_command("unrecordable-argument", "class Cam(Component):\n    def __init__(self, device=None):\n        super().__init__('cam')\n\n    def forward(self):\n        return 1\n\n\ncam = Cam(device=object())  # <-\nsystem = System(components=[cam, Sink()], name='demo')\n",
                  says="device"),
    Case("unrecordable-dict-key", "class Cam(Component):\n    def __init__(self, table=None):\n        super().__init__('cam')\n\n    def forward(self):\n        return 1\n\n\ncam = Cam(table={1: 'a'})  # <-\nsystem = System(components=[cam, Sink()], name='demo')\n",
         args=("compile", "robot.py"), says="table"),
    Case("nested-component", "class Outer(Component):\n    def __init__(self):\n        super().__init__('outer')\n        self.inner = Source()  # <-\n\n    def forward(self):\n        return 1\n\n\nouter = Outer()\nsystem = System(components=[outer, Sink()], name='demo')\n",
         args=("compile", "robot.py"), says="nest"),
    Case("init-raises", "class Cam(Component):\n    def __init__(self):\n        super().__init__('cam')\n        raise ValueError('no camera')\n\n    def forward(self):\n        return 1\n\n\ncam = Cam()\nsystem = System(components=[cam, Sink()], name='demo')\n",
         args=("compile", "robot.py"), where="robot.py:", says="no camera"),
]

QUEUE_CASES = [
    *each_command("queue-policy", queued('{"x": {"policy": "drop_newest"}}'), says="drop_newest"),
    Case("queue-size-zero", queued('{"x": {"size": 0}}'), args=("compile", "robot.py"), says="size"),
    Case("queue-size-text", queued('{"x": {"size": "big"}}'), args=("compile", "robot.py"), says="size"),
    Case("queue-size-float", queued('{"x": {"size": 2.5}}'), args=("compile", "robot.py"), says="size"),
    Case("queue-not-a-dict", queued("5"), args=("compile", "robot.py"), says="input_queues"),
    Case("queue-entry-not-a-dict", queued('{"x": 5}'), args=("compile", "robot.py"), says="input_queues"),
    Case("queue-unknown-input", queued('{"y": {"size": 2}}'), args=("compile", "robot.py"), says="'y'"),
    Case("queue-unknown-key", queued('{"x": {"sise": 2}}'), args=("compile", "robot.py"), says="sise"),
]

S2 = "source = Source()\nsink = Sink()\n"
WIRING = [
    *each_command("connect-unknown-input", S2 + "system = System(components=[source, sink], name='demo')\nsystem.connect(source.out, sink.inputs.nope)  # <-\n",
                  says="nope"),
    *each_command("call-unknown-keyword", S2 + "sink(nope=source.out)  # <-\nsystem = System(components=[source, sink], name='demo')\n",
                  says="nope"),
    Case("connect-output-to-output", S2 + "other = Source('other')\nsystem = System(components=[source, other, sink], name='demo')\nsystem.connect(source.out, other.out)  # <-\n",
         args=("compile", "robot.py"), says="input"),
    Case("connect-input-to-input", S2 + "system = System(components=[source, sink], name='demo')\nsystem.connect(sink.inputs.x, sink.inputs.x)  # <-\n",
         args=("compile", "robot.py"), says="output"),
    Case("connect-number", S2 + "system = System(components=[source, sink], name='demo')\nsystem.connect(5, sink.inputs.x)  # <-\n",
         args=("compile", "robot.py")),
    Case("unknown-output", S2 + "sink(x=source.outputs.nope)  # <-\nsystem = System(components=[source, sink], name='demo')\n",
         args=("compile", "robot.py"), says="nope"),
    Case("out-of-several", MULTI + "pair = Pair()\nsink = Sink()\nsink(x=pair.out)  # <-\nsystem = System(components=[pair, sink], name='demo')\n",
         args=("compile", "robot.py"), says="outputs"),
    Case("all-outputs-passed", MULTI + "pair = Pair()\nsink = Sink()\nsink(x=pair.outputs)  # <-\nsystem = System(components=[pair, sink], name='demo')\n",
         args=("compile", "robot.py"), says="pair"),
    Case("input-given-twice", MULTI + "pair = Pair()\ntwo = Two()\ntwo(pair.outputs.left, a=pair.outputs.right)  # <-\nsystem = System(components=[pair, two], name='demo')\n",
         args=("compile", "robot.py"), says="twice"),
    Case("too-many-positional", S2 + "sink(source.out, source.out)  # <-\nsystem = System(components=[source, sink], name='demo')\n",
         args=("compile", "robot.py"), says="positional"),
    Case("handles-and-values", MULTI + "pair = Pair()\ntwo = Two()\ntwo(a=pair.outputs.left, b=3)  # <-\nsystem = System(components=[pair, two], name='demo')\n",
         args=("compile", "robot.py"), says="mix"),
    *each_command("input-not-connected", MULTI + "pair = Pair()\ntwo = Two()  # <-\ntwo(a=pair.outputs.left)\nsystem = System(components=[pair, two], name='demo')\n",
                  says="not connected"),
    Case("input-wired-twice", MULTI + "pair = Pair()\ntwo = Two()  # <-\ntwo(a=pair.outputs.left, b=pair.outputs.right)\nsystem = System(components=[pair, two], name='demo')\nsystem.connect(pair.outputs.left, two.inputs.a)\n",
         args=("compile", "robot.py"), says="wired 2 times"),
    Case("wired-outside-system", S2 + "sink(x=source.out)\nsystem = System(components=[sink], name='demo')  # <-\n",
         args=("compile", "robot.py"), says="not one of its components", where="robot.py:"),
    Case("type-mismatch", "class Text(Component):\n    def forward(self) -> str:\n        return 'a'\n\n\nclass Count(Component):\n    outputs = ()\n\n    def forward(self, n: int):\n        pass\n\n\ntext = Text()\ncount = Count()  # <-\ncount(n=text.out)\nsystem = System(components=[text, count], name='demo')\n",
         args=("compile", "robot.py"), says="type mismatch"),
    Case("sequential-ambiguous", MULTI + "system = System(components=[Pair(), Sink()], name='demo')  # <-\n",
         args=("compile", "robot.py"), says="sequentially", where="robot.py:"),
    Case("loop-never-starts", "class Echo(Component):\n    def forward(self, x):\n        return x\n\n\na = Echo('a')  # <-\nb = Echo('b')\nb(x=a.out)\na(x=b.out)\nsystem = System(components=[a, b], name='demo')\n",
         args=("compile", "robot.py"), says="never start"),
    *each_command("duplicate-names", "left = Source('cam')\nright = Source('cam')  # <-\nsink = Sink()\nsink(x=left.out)\nsystem = System(components=[left, right, sink], name='demo')\n",
                  says="'cam'"),
    *each_command("same-instance-twice", S2 + "system = System(components=[source, sink, sink], name='demo')  # <-\n",
                  says="twice"),
    Case("component-not-a-component", "system = System(components=[Source(), 5], name='demo')  # <-\n",
         args=("compile", "robot.py"), says="Component"),
    Case("components-not-a-list", "system = System(components=Source(), name='demo')  # <-\n", says="components"),
    Case("add-not-a-component", "system = System(components=[Source(), Sink()], name='demo')\nsystem.add(5)  # <-\n",
         args=("compile", "robot.py"), says="Component"),
    *each_command("empty-system", "system = System(components=[], name='demo')  # <-\n", says="no components",
                  commands=COMMANDS + (("launch", "robot.py", "-e", "dora", "-n", "1", "-d", "5"),)),
    *each_command("system-name-chars", "system = System(components=[Source(), Sink()], name='My Robot')  # <-\n",
                  says="My Robot"),
    Case("system-name-test", "system = System(components=[Source(), Sink()], name='test')  # <-\n",
         args=("compile", "robot.py"), says="'test'"),
    Case("system-name-number", "system = System(components=[Source(), Sink()], name=5)  # <-\n",
         args=("compile", "robot.py")),
    Case("system-name-long", f"system = System(components=[Source(), Sink()], name='{LONG}')  # <-\n",
         args=("compile", "robot.py"), says="255"),
    Case("system-name-underscore", "system = System(components=[Source(), Sink()], name='_demo')  # <-\n",
         args=("compile", "robot.py")),
]

SOURCES = [
    *each_command("syntax-error", "system = System(components=[Source(), Sink()], name='demo'  # <-\n",
                  says="syntax"),
    Case("syntax-error-in-module", "import helper  # imports a broken file\n" + GOOD, files={"helper.py": "def f(:\n"},
         args=("compile", "robot.py"), where="helper.py:1", says="syntax"),
    *each_command("import-missing-strict", "import no_such_module_here  # <-\n" + GOOD, says="no_such_module_here",
                  commands=tuple(c + ("--strict-imports",) for c in COMMANDS)),
    Case("import-missing-module", "import no_such_module_here  # <-\nfrom lkbuild import System\n"
         "system = System(components=[], name='demo')\n", parts=False, args=("compile", "robot.py"),
         says="no_such_module_here"),
    Case("import-missing-name", "from lkbuild import Nope  # <-\n" + GOOD, args=("compile", "robot.py"), says="Nope"),
    Case("import-raises", "import helper  # <-\n" + GOOD, files={"helper.py": "x = 1\nraise RuntimeError('no')\n"},
         args=("compile", "robot.py"), where="helper.py:2"),
    Case("module-level-raises", "x = {}['missing']  # <-\n" + GOOD, args=("compile", "robot.py"), says="KeyError"),
    Case("unguarded-launch", GOOD + "system.launch(iterations=1)  # <-\n", args=("compile", "robot.py"),
         says="Guard it"),
    Case("unguarded-compile", GOOD + "system.compile()  # <-\n", args=("launch", "robot.py", "-n", "1"),
         says="Guard it"),
    Case("no-system", "source = Source()\n", args=("compile", "robot.py"), says="no System", where="robot.py"),
    Case("two-systems", GOOD + "other = System(components=[Source(), Sink()], name='other')\n",
         args=("compile", "robot.py"), says="several", where="robot.py"),
    Case("stand-in-launch", "import helper\n" + GOOD, files={"helper.py": "import not_installed_anywhere\n"
                                                             "from lkbuild import Component\n\n\n"
                                                             "class Cam(Component):\n"
                                                             "    def forward(self):\n        return 1\n"},
         args=("launch", "robot.py", "-n", "1"), says="not installed"),
]

ENGINE_SPECIFIC = [
    Case("ros2-machine-named-like-system", "source = Source(node=Node('a', machine='demo'))\nsink = Sink(node=source.node)\n"
         "system = System(components=[source, sink], name='demo')\n", args=("compile", "robot.py", "-e", "ros2"),
         says="Rename"),
    Case("ros2-long-topic", f"source = Source(name='{'s' * 250}')  # <-\nsink = Sink(name='k')\nsink(x=source.out)\n"
         "system = System(components=[source, sink], name='demo')\n", args=("launch", "robot.py", "-e", "ros2", "-n", "1"),
         says="255"),
    Case("dora-long-id", f"source = Source(name='{'s' * 250}')  # <-\nsink = Sink()\nsink(x=source.out)\n"
         "system = System(components=[source, sink], name='demo')\n", args=("compile", "robot.py", "-e", "dora"),
         says="255"),
]

FOREIGN_HEAD = "from lkbuild import DoraNode\nsink = Sink()\n"
ECHO = "DoraNode('echo', path='dora-echo', package='dora-echo==0.5.0', inputs=['x'], outputs={'x': 'array'})"
ON_DORA = COMMANDS[:2] + (("compile", "robot.py", "-e", "dora"),)
FOREIGN = [
    *each_command("foreign-unknown-format", FOREIGN_HEAD + "echo = DoraNode('echo', path='dora-echo', "
                  "outputs={'x': 'jpeg'})  # <-\nsink(x=echo.outputs.x)\n"
                  "system = System(components=[echo, sink], name='demo')\n", says="'jpeg'", commands=ON_DORA),
    *each_command("foreign-undeclared-output", FOREIGN_HEAD + f"echo = {ECHO}\n"
                  "sink(x=echo.outputs.y)  # <-\nsystem = System(components=[echo, sink], name='demo')\n",
                  says="no output named 'y'", commands=ON_DORA),
    *each_command("foreign-undeclared-input", FOREIGN_HEAD + f"source = Source()\necho = {ECHO}\n"
                  "echo(y=source.out)  # <-\nsystem = System(components=[source, echo, sink], name='demo')\n",
                  says="no input named 'y'", commands=ON_DORA),
    *each_command("foreign-bad-timer", FOREIGN_HEAD + "cam = DoraNode('cam', path='cam', timers={'tick': 0}, "
                  "outputs=['image'])  # <-\nsink(x=cam.outputs.image)\n"
                  "system = System(components=[cam, sink], name='demo')\n", says="timer 'tick'", commands=ON_DORA),
    *each_command("foreign-on-native", FOREIGN_HEAD + f"echo = {ECHO}  # <-\n"
                  "sink(x=echo.outputs.x)\nsystem = System(components=[echo, sink], name='demo')\n",
                  says="runs on the dora engine", commands=(("check", "robot.py", "-e", "native"), *COMMANDS[1:],
                                                           ("compile", "robot.py", "-e", "ros2"))),
    *each_command("foreign-to-foreign", FOREIGN_HEAD + f"a = {ECHO}\nb = {ECHO.replace('echo', 'echo2', 1)}  # <-\n"
                  "b(x=a.outputs.x)\nsink(x=b.outputs.x)\nsystem = System(components=[a, b, sink], name='demo')\n",
                  says="two foreign endpoints", commands=(("compile", "robot.py", "-e", "dora"),)),
]

ROS_HEAD = "from lkbuild import RosTopic\nsink = Sink()\n"
ON_ROS = (("check", "robot.py", "-e", "ros2"), ("compile", "robot.py", "-e", "ros2"))
FOREIGN += [
    *each_command("rostopic-bad-name", ROS_HEAD + "scan = RosTopic('/scan//front', 'sensor_msgs/msg/LaserScan')  # <-\n"
                  "sink(x=scan.out)\nsystem = System(components=[scan, sink], name='demo')\n",
                  says="not a valid ROS 2 topic name", commands=ON_ROS + (("check", "robot.py"),)),
    *each_command("rostopic-unknown-type", ROS_HEAD + "scan = RosTopic('/scan', 'sensor_msgs/msg/LazerScan')  # <-\n"
                  "sink(x=scan.out)\nsystem = System(components=[scan, sink], name='demo')\n",
                  says="did you mean LaserScan", commands=ON_ROS + (("check", "robot.py"),)),
    *each_command("rostopic-bad-type", ROS_HEAD + "scan = RosTopic('/scan', 'LaserScan')  # <-\n"
                  "sink(x=scan.out)\nsystem = System(components=[scan, sink], name='demo')\n",
                  says="pkg/msg/Name", commands=ON_ROS),
    *each_command("rostopic-on-native", ROS_HEAD + "scan = RosTopic('/scan', 'sensor_msgs/msg/LaserScan')  # <-\n"
                  "sink(x=scan.out)\nsystem = System(components=[scan, sink], name='demo')\n",
                  says="runs on the ros2 or dora engine", commands=(("check", "robot.py", "-e", "native"),
                                                                    ("launch", "robot.py", "-n", "1", "--fast"))),
]

CASES = FOREIGN + OPTIONS + PYPROJECT + NODES + COMPONENTS + QUEUE_CASES + WIRING + SOURCES + ENGINE_SPECIFIC

# The commands that only read the system refuse what cannot even be built, at the same line.
READERS = (("inspect", "robot.py"), ("inspect", "robot.py", "--format", "text"), ("graph", "robot.py"),
           ("graph", "robot.py", "--format", "html", "--output", "g.html"))
BAD_PLACED = PLACED.replace("Sink(node=source.node)", "Sink('my sink', node=source.node)  # <-").replace(
    "sink(x=source.out)", "sink(x=source.out)")
CASES += [
    *each_command("read-rate-zero", "source = Source(rate_hz=0)  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="rate_hz", commands=READERS),
    *each_command("read-unknown-keyword", S2 + "sink(nope=source.out)  # <-\nsystem = System(components=[source, sink], name='demo')\n",
                  says="nope", commands=READERS),
    *each_command("read-syntax-error", "system = System(components=[Source(), Sink()], name='demo'  # <-\n",
                  says="syntax", commands=READERS),
    *each_command("read-node-engine", "source = Source(node=Node('a', engine='bogus'))  # <-\nsystem = System(components=[source, Sink()], name='demo')\n",
                  says="bogus", commands=READERS[:1]),
    *each_command("bundle-bad-name", BAD_PLACED, says="my sink",
                  commands=(("bundle", "robot.py", "-m", "jetson"), ("bundle", "robot.py", "-m", "jetson", "-e", "ros2"))),
    *each_command("bundle-rate", PLACED.replace("Source(node=", "Source(rate_hz=-1, node=").replace(
        "))\nsink", "))  # <-\nsink", 1), says="rate_hz", commands=(("bundle", "robot.py", "-m", "jetson"),)),
]
