"""`lkbuild check`: every problem at once, each with where it is; exit 2 when there is any."""
from __future__ import annotations

import json


def test_a_valid_system_is_summarised(project):
    project.write("robot.py", """\
        source = Source()
        sink = Sink()
        system = System(components=[source, sink], name="demo")
    """)
    result = project.run("check", "robot.py")
    assert result.stdout == "ok: system 'demo': 2 components, 1 edge, 1 node (local)\n"


def test_problems_are_listed_with_their_line_and_exit_2(project):
    project.write("robot.py", """\
        from lkbuild import Component, System


        class Source(Component):
            def forward(self):
                return 1


        class Pair(Component):
            outputs = ()

            def forward(self, left, right):
                pass


        source = Source()
        pair = Pair()
        pair(left=source.out)
        system = System(components=[source, pair], name="demo")
    """, parts=False)
    result = project.run("check", "robot.py", code=2)
    assert result.stdout == (
        "robot.py:17: required input 'pair.right' is not connected. Wire it (pair(... right=<component>.out) "
        "or system.connect(src, pair.inputs.right)) or give the parameter a default in forward().\n"
    )
    assert "1 error" in result.stderr


def test_check_json_lists_the_problems(project):
    project.write("robot.py", """\
        source = Source(node=Node("a", engine="dora"))
        sink = Sink(node=Node("b", engine="ros2"))
        sink(x=source.out)
        system = System(components=[source, sink], name="demo")
    """)
    result = project.run("check", "robot.py", "--format", "json", code=2)
    report = json.loads(result.stdout)
    assert report["system"] == "demo"
    assert report["ok"] is False
    assert report["problems"] == [{
        "code": "LK230",
        "message": "nodes use different engines (a=dora, b=ros2); all nodes of a system must use one engine.",
        "file": "robot.py", "line": 17, "col": None, "severity": "error",
    }]


def test_duplicate_component_names(project):
    project.write("robot.py", """\
        class Both(Component):
            outputs = ()

            def forward(self, a, b):
                pass


        left = Source("camera")
        right = Source("camera")
        both = Both()
        both(a=left.out, b=right.out)
        system = System(components=[left, right, both], name="demo")
    """)
    result = project.run("check", "robot.py", code=2)
    assert result.stdout == "robot.py:24: 2 components are named 'camera'; give each a unique name (name=...).\n"


def test_sequential_wiring_that_is_ambiguous_says_how_to_wire(project):
    project.write("robot.py", """\
        from lkbuild import Component, System


        class Source(Component):
            def forward(self):
                return 1


        class Pair(Component):
            def forward(self, left, right):
                return left + right


        system = System(components=[Source(), Pair()], name="demo")
    """, parts=False)
    result = project.run("check", "robot.py", code=2)
    assert result.stdout == (
        "robot.py:14: Cannot chain 'source' -> 'pair' sequentially: 'pair' has 2 required inputs (left, right). "
        "Wire them explicitly, e.g. pair(left=source.out) or system.connect(src, pair.inputs.<name>).\n"
    )


def test_nodes_with_different_engines(project):
    project.write("robot.py", """\
        source = Source(node=Node("a", engine="dora"))
        sink = Sink(node=Node("b", engine="ros2"))
        sink(x=source.out)
        system = System(components=[source, sink], name="demo")
    """)
    result = project.run("check", "robot.py", code=2)
    assert result.stdout == (
        "robot.py:17: nodes use different engines (a=dora, b=ros2); all nodes of a system must use one engine.\n"
    )


def test_a_constructor_argument_that_cannot_be_recorded(project):
    project.write("robot.py", """\
        from lkbuild import Component, System


        class Camera(Component):
            def __init__(self, device=None):
                super().__init__("camera")
                self.device = device

            def forward(self):
                return 1


        system = System(components=[Camera(device=object())], name="demo")
    """, parts=False)
    result = project.run("compile", "robot.py", code=2)
    assert result.stderr == (
        "Error: robot.py:13: Component 'camera': constructor argument 'device' cannot be recorded (value of type object). "
        "Arguments must be numbers, strings, bools, None, bytes, lists/tuples/dicts of those, the component's "
        "Config, or a Node. Create other objects in setup() instead.\n"
    )


def test_the_system_named_in_pyproject_is_used_without_an_argument(project):
    project.write("src/robot.py", """\
        source = Source()
        sink = Sink()
        first = System(components=[source, sink], name="first")
        second = System(components=[source, sink], name="second")
    """)
    (project.root / "pyproject.toml").write_text('[tool.lkbuild]\nsystem = "src/robot.py:second"\n')
    result = project.run("check")
    assert result.stdout == "ok: system 'second': 2 components, 1 edge, 1 node (local)\n"


def test_without_an_argument_or_pyproject_the_error_says_what_to_pass(project):
    result = project.run("check", code=2)
    assert result.stderr == (
        "Error: No SYSTEM given and no `system = \"path/to/robot.py:attr\"` under [tool.lkbuild] in "
        "pyproject.toml. Pass the system as path/to/robot.py or path/to/robot.py:attribute.\n"
    )
