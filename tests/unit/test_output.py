"""``lkbuild.output``: generated files are recorded, and only recorded files are ever pruned."""
from __future__ import annotations

from lkbuild.output import MANIFEST, Manifest, write_generated


def test_a_file_no_longer_generated_is_pruned_and_a_users_file_is_kept(tmp_path):
    write_generated(tmp_path, {"nodes/a.py": b"a", "nodes/b.py": b"b", "top.yaml": b"t"}, prune=[""])
    (tmp_path / "nodes" / "mine.py").write_text("user")
    changed = write_generated(tmp_path, {"nodes/a.py": b"a"}, prune=[""])
    assert changed == []  # unchanged bytes are not rewritten
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        MANIFEST, "nodes/a.py", "nodes/mine.py"]
    assert Manifest.read(tmp_path).files == {"nodes/a.py"}


def test_only_the_pruned_prefixes_lose_files(tmp_path):
    write_generated(tmp_path, {"src/a/x": b"1", "src/b/x": b"2", "keep": b"3"}, scratch=["build"])
    write_generated(tmp_path, {"src/b/x": b"2"}, prune=["src"])
    assert not (tmp_path / "src" / "a").exists()
    assert (tmp_path / "keep").read_bytes() == b"3"
    assert Manifest.read(tmp_path).dirs == {"build"}
