"""manifest.json: what generated a bundle and the sha256 of every file in it, and checking a bundle against it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Union

MANIFEST = "manifest.json"
FORMAT = 1
# Written into the bundle directory after bundling (docker save); never part of the manifest.
LOCAL_FILES = {MANIFEST, "image.tar"}

Content = Union[bytes, Path]


def sha256(content: Content) -> str:
    digest = hashlib.sha256()
    if isinstance(content, Path):
        with open(content, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(content)
    return digest.hexdigest()


def manifest_bytes(files: Mapping[str, Content], info: Dict[str, Any]) -> bytes:
    """The manifest for ``files`` (bundle path -> bytes or a file to copy); sorted, no timestamps."""
    data = dict(info)
    data["format"] = FORMAT
    data["files"] = {path: sha256(files[path]) for path in sorted(files)}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def verify(bundle_dir: Path) -> List[str]:
    """Every difference between a bundle directory and its manifest (empty: intact)."""
    bundle_dir = Path(bundle_dir)
    try:
        expected = json.loads((bundle_dir / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError) as exc:
        return [f"{MANIFEST}: cannot read it ({exc})"]
    problems = []
    present = {p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()}
    for path in sorted(expected):
        if path not in present:
            problems.append(f"{path}: missing")
        elif sha256(bundle_dir / path) != expected[path]:
            problems.append(f"{path}: changed (sha256 differs from the manifest)")
    for path in sorted(present - set(expected) - LOCAL_FILES):
        problems.append(f"{path}: not in the manifest")
    return problems
