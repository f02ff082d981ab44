"""Facts per source file, cached by content hash: in memory always, on disk once a directory is set.

The disk cache (``.lk_build/cache/inspect/<sha256>.json``) is what makes re-checking an unchanged project
cheap: parsing with libcst is the expensive part of inspection. A key covers the reader's version, so
a newer lkbuild never reads facts an older one wrote.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Dict, Optional, Union

from .facts import FileFacts

# Bump when the reader learns something new: old cache entries are then ignored.
READER_VERSION = "3"  # 3: module-level variables are owners of their uses
DEFAULT_DIR = Path(".lk_build") / "cache" / "inspect"


class FactsCache:
    """``facts(path)``: the file's facts, read with libcst only when its content is new."""

    def __init__(self, directory: Optional[Union[str, os.PathLike]] = None,
                 memory: Optional[Dict[str, "FileFacts"]] = None):
        self.directory = Path(directory) if directory is not None else None
        self._memory: Dict[str, FileFacts] = memory if memory is not None else {}
        self.parsed = 0  # how many files were actually read with libcst (for tests and benchmarks)

    def facts(self, path: Union[str, os.PathLike]) -> FileFacts:
        """Raises OSError when the file cannot be read."""
        data = Path(path).read_bytes()
        return self.facts_of(data)

    def facts_of(self, data: bytes) -> FileFacts:
        key = hashlib.sha256(READER_VERSION.encode() + b"\0" + data).hexdigest()
        found = self._memory.get(key)
        if found is None:
            found = self._load(key)
        if found is None:
            from .reader import read_source  # libcst loads only when a file must really be read

            found = read_source(data.decode("utf-8", errors="replace"))
            self.parsed += 1
            self._store(key, found)
        self._memory[key] = found
        return found

    def _load(self, key: str) -> Optional[FileFacts]:
        if self.directory is None:
            return None
        try:
            return FileFacts.from_dict(json.loads((self.directory / f"{key}.json").read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing or damaged: read the source again

    def _store(self, key: str, facts: FileFacts) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.")
            with os.fdopen(fd, "w") as f:
                json.dump(facts.to_dict(), f, separators=(",", ":"))
            os.replace(tmp, self.directory / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written only costs time


_cache = FactsCache()


def cache() -> FactsCache:
    """The process-wide cache (memory only until ``use_directory`` is called)."""
    return _cache


def use_directory(directory: Optional[Union[str, os.PathLike]]) -> FactsCache:
    """Keep facts on disk under ``directory`` from now on (the CLI passes ``.lk_build/cache/inspect``)."""
    global _cache
    # facts are keyed by content, so what is already in memory stays valid
    _cache = FactsCache(directory, memory=_cache._memory)
    return _cache
