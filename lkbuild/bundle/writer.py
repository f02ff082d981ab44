"""Writing a bundle directory atomically: built beside the target, then swapped in by rename."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Union

from ..output import safe_join

Content = Union[bytes, Path]


def _mode(rel: str, content: Content) -> int:
    head = content[:2] if isinstance(content, bytes) else b""
    return 0o755 if head == b"#!" else 0o644


def replace_dir(target: Path, files: Mapping[str, Content]) -> Path:
    """Make ``target`` hold exactly ``files``. On any failure the previous ``target`` is left untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = {rel: safe_join(Path("."), rel) for rel in files}  # validate every path before writing any
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    try:
        os.chmod(staging, 0o755)
        for rel in sorted(files):
            path = staging / paths[rel]
            path.parent.mkdir(parents=True, exist_ok=True)
            content = files[rel]
            if isinstance(content, Path):
                shutil.copyfile(content, path)
            else:
                path.write_bytes(content)
            os.chmod(path, _mode(rel, content))
        for directory in staging.rglob("*"):
            if directory.is_dir():
                os.chmod(directory, 0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.rename(target, old / "bundle")
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target
