"""The reader turns one file's source into facts, without importing it."""
from lkbuild.inspect.reader import read_source

DETECTOR = '''from dataclasses import dataclass
import numpy as np
from lkbuild import Component

try:
    import ujson as json
except ImportError:
    import json


@dataclass
class Unrelated:
    x: int = 0


class Detector(Component):
    @dataclass
    class Config:
        threshold: float = 0.5
        labels: list = None
        model: str

    outputs = ("detections", "debug")

    def forward(self, image: np.ndarray, odom=None):
        def helper():
            return {"not": "forward's"}
        if image is None:
            return None
        return {"detections": 1, "debug": "ok"}
'''


def test_class_position_is_its_name_not_its_decorator():
    facts = read_source(DETECTOR)
    unrelated = facts.classes["Unrelated"]
    assert (unrelated.line, unrelated.col) == (12, 6)
    detector = facts.classes["Detector"]
    assert (detector.line, detector.col) == (16, 6)
    assert detector.bases == [[("lkbuild.Component", "import")]]


def test_forward_signature_and_returns():
    forward = read_source(DETECTOR).classes["Detector"].forward
    assert (forward.line, forward.col) == (25, 8)
    assert [(p.name, p.required, p.annotation) for p in forward.params] == [
        ("image", True, "np.ndarray"), ("odom", False, None)]
    # the nested helper's return is not one of forward's
    assert [r.kind for r in forward.returns] == ["none", "dict"]
    assert [k for k, _, _ in forward.returns[1].keys] == ["detections", "debug"]


def test_outputs_and_config_fields():
    detector = read_source(DETECTOR).classes["Detector"]
    assert [n for n, _, _ in detector.outputs] == ["detections", "debug"]
    assert [(f.name, f.annotation, f.default) for f in detector.config] == [
        ("threshold", "float", "0.5"), ("labels", "list", "None"), ("model", "str", None)]


def test_outputs_in_every_literal_form():
    for literal, names in (('"scan"', ["scan"]), ('["a", "b"]', ["a", "b"]), ('{"a": int, "b": str}', ["a", "b"]),
                           ("()", [])):
        facts = read_source(f"class C:\n    outputs = {literal}\n")
        assert [n for n, _, _ in facts.classes["C"].outputs] == names
    assert read_source("NAMES = ('a',)\nclass C:\n    outputs = NAMES\n").classes["C"].outputs is None


def test_imports_record_where_and_whether_optional():
    facts = read_source(DETECTOR)
    by_name = {(i.module, i.name): i for i in facts.imports}
    assert by_name[("numpy", "np")].optional is False
    assert (by_name[("numpy", "np")].line, by_name[("numpy", "np")].col) == (2, 0)
    assert by_name[("ujson", "json")].optional and by_name[("json", "json")].optional


def test_type_checking_imports_are_optional_and_relative_imports_keep_their_level():
    facts = read_source(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "from ..pkg import mod\n"
        "def f():\n    import cv2\n"
    )
    by_module = {i.module: i for i in facts.imports}
    assert by_module["torch"].optional
    assert (by_module["pkg"].level, by_module["pkg"].attr) == (2, "mod")
    assert by_module["cv2"].owner == "f"


def test_scope_analysis_attributes_names_to_the_definition_that_uses_them():
    facts = read_source(
        "import numpy as np\nimport cv2\n"
        "def blur(x):\n    return cv2.blur(x)\n"
        "class A:\n    def forward(self, x):\n        return blur(np.asarray(x))\n"
        "TABLE = np.zeros(3)\n"
    )
    assert facts.uses["A"] == ["blur", "np"]
    assert facts.uses["blur"] == ["cv2"]
    assert facts.uses["<module>"] == ["np"]


def test_a_decorator_counts_for_the_definition_it_decorates():
    facts = read_source("import dataclasses\nclass A:\n    pass\n\n@dataclasses.dataclass\nclass B:\n    x: int = 0\n")
    assert facts.uses == {"B": ["dataclasses"]}


def test_a_syntax_error_is_a_fact():
    facts = read_source("class A(:\n    pass\n")
    assert facts.syntax_error is not None
    assert facts.syntax_error[1:] == (1, 8)
    assert facts.syntax_error[0] == "invalid syntax"


def test_facts_survive_json():
    import json

    from lkbuild.inspect.facts import FileFacts

    facts = read_source(DETECTOR)
    again = FileFacts.from_dict(json.loads(json.dumps(facts.to_dict())))
    assert again.to_dict() == json.loads(json.dumps(facts.to_dict()))
    assert again.classes["Detector"].forward.params[0].name == "image"
