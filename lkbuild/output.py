"""Writing generated files: everything rendered first, then each file replaced atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List

from .errors import ConfigError


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a path that would leave ``root``."""
    if os.path.isabs(relative) or ".." in Path(relative).parts:
        raise ConfigError(f"refusing to write '{relative}': generated paths must stay inside {root}")
    return root / relative


def write_tree(root: Path, files: Dict[str, bytes], prune: Iterable[str] = ()) -> List[str]:
    """Write ``files`` under ``root``; return the paths that changed.

    A file whose bytes are unchanged is not rewritten. Each write goes to a temporary file beside the
    target and is renamed over it, so a reader never sees half a file. Files under the ``prune``
    directories that are no longer generated are removed.
    """
    root = Path(root)
    targets = {rel: safe_join(root, rel) for rel in files}  # validate every path before writing any
    changed = []
    for rel in sorted(files):
        path, data = targets[rel], files[rel]
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            mode = 0o755 if data.startswith(b"#!") else 0o644
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        changed.append(rel)
    for directory in prune:
        base = safe_join(root, directory)
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return changed
