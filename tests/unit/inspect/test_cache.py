"""Facts are cached by content hash: an unchanged file is not parsed again, even by a new process."""
import json

from lkbuild.inspect import FactsCache

SOURCE = b"from lkbuild import Component\n\nclass Camera(Component):\n    def forward(self):\n        return 1\n"


def test_unchanged_file_is_read_from_the_disk_cache(tmp_path):
    source = tmp_path / "camera.py"
    source.write_bytes(SOURCE)
    directory = tmp_path / ".lk_build" / "cache" / "inspect"
    first = FactsCache(directory)
    facts = first.facts(source)
    assert first.parsed == 1
    assert len(list(directory.glob("*.json"))) == 1

    second = FactsCache(directory)  # as a new `lkbuild check` would
    again = second.facts(source)
    assert second.parsed == 0
    assert again.to_dict() == json.loads(json.dumps(facts.to_dict()))


def test_changed_file_is_read_again(tmp_path):
    source = tmp_path / "camera.py"
    source.write_bytes(SOURCE)
    cache = FactsCache(tmp_path / "cache")
    cache.facts(source)
    source.write_bytes(SOURCE.replace(b"Camera", b"Lidar"))
    assert "Lidar" in cache.facts(source).classes
    assert cache.parsed == 2


def test_damaged_cache_entry_is_ignored(tmp_path):
    source = tmp_path / "camera.py"
    source.write_bytes(SOURCE)
    directory = tmp_path / "cache"
    FactsCache(directory).facts(source)
    for entry in directory.glob("*.json"):
        entry.write_text("{not json")
    cache = FactsCache(directory)
    assert "Camera" in cache.facts(source).classes
    assert cache.parsed == 1


def test_without_a_directory_only_memory_is_used(tmp_path):
    source = tmp_path / "camera.py"
    source.write_bytes(SOURCE)
    cache = FactsCache()
    cache.facts(source)
    cache.facts(source)
    assert cache.parsed == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camera.py"]


def test_lint_and_requirements_from_cached_facts_are_the_same(sources):
    from lkbuild.inspect import Project, describe, lint_project

    sources.write("parts.py", '''
import cv2
from lkbuild import Component

class Camera(Component):
    outputs = ("image", "depth-map")
    def __init__(self, device=None):
        super().__init__("cam.front")
        self.capture = cv2.VideoCapture(0)
    def forward(self, *ticks):
        return {"image": 1, "depth": 2}

class Robot(Component):
    def forward(self, x):
        return Camera()
''')
    robot = sources.write("robot.py", "from parts import Camera\ncam = Camera(device=open('/dev/video0'))\n")
    directory = sources.root / "cache"
    results = []
    for _ in range(2):
        project = Project([sources.root], FactsCache(directory))
        findings = lint_project(project, project.walk([robot]))
        needs = describe(project, (sources.root / "parts.py").resolve(), "Camera", sources.root)
        results.append((project.cache.parsed, findings, needs))
    (parsed_first, first, needs_first), (parsed_again, again, needs_again) = results
    assert (parsed_first, parsed_again) == (2, 0)
    assert sorted({f.code for f in first}) == ["LK001", "LK003", "LK004", "LK005", "LK006", "LK101", "LK102"]
    assert again == first and needs_again == needs_first
