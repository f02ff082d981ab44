"""Recording of every message a host sends, to compare runs across engines.

One JSON Lines file per component, ``<dir>/<component>.jsonl``; each line holds the output name, the
message's sequence number on that output, the sha256 of its encoded bytes and a short preview.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, List, Tuple

from . import codec


def preview(payload) -> str:
    value = codec.decode(payload)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array{tuple(value.shape)} {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Recorder:
    """Callable a Host records through: ``Recorder(dir)(component, output, payload)``."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.files: Dict[str, object] = {}
        self.seq: Dict[Tuple[str, str], int] = {}

    def __call__(self, component: str, output: str, payload: bytes, tick: int = 0) -> None:
        f = self.files.get(component)
        if f is None:
            f = self.files[component] = open(os.path.join(self.directory, f"{component}.jsonl"), "w")
        n = self.seq.get((component, output), 0)
        self.seq[(component, output)] = n + 1
        line = {"output": output, "seq": n, "sha256": hashlib.sha256(payload).hexdigest(),
                "value": preview(payload)}
        f.write(json.dumps(line, sort_keys=True) + "\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()


def load(directory: str) -> Dict[Tuple[str, str], List[str]]:
    """A recording as {(component, output): [sha256, ...]} in send order."""
    result: Dict[Tuple[str, str], List[str]] = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(directory, name)) as f:
            for line in f:
                entry = json.loads(line)
                result.setdefault((name[:-6], entry["output"]), []).append(entry["sha256"])
    return result
