"""Reading what a run's processes reported (``lk_runtime.report``), the same way for every engine.

Each engine collects its processes' output where it lands (dora's node logs, a ROS 2 process's log file)
and hands the lines to ``Report.read``; the result says how the run went: per-Node summaries (firings,
messages, per-edge counts), component failures, lost messages.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from ..errors import ComponentError
from ..runtime_stubs.lk_runtime import report as marks


@dataclass
class Report:
    summaries: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by node
    failures: List[Dict[str, Any]] = field(default_factory=list)
    lost: Dict[str, int] = field(default_factory=dict)  # per edge "src node/output -> dst node/input"
    profiles: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by node, with --profile

    @classmethod
    def read(cls, lines: Iterable[str]) -> "Report":
        found = cls()
        for mark, data in _marked(lines):
            if mark == marks.SUMMARY and isinstance(data.get("node"), str):
                found.summaries[data["node"]] = data
            elif mark == marks.FAILURE:
                found.failures.append(data)
            elif mark == marks.PROFILE and isinstance(data.get("node"), str):
                found.profiles[data["node"]] = data
            elif mark == marks.LOST:
                for edge, count in (data.get("missing") or {}).items():
                    if isinstance(count, int):
                        found.lost[str(edge)] = max(found.lost.get(str(edge), 0), count)
        return found

    @property
    def messages(self) -> int:
        return sum(int(s.get("messages", 0)) for s in self.summaries.values())

    def fired(self, order: Iterable[str]) -> Dict[str, int]:
        """Firings per component, in the system's order."""
        counts: Dict[str, int] = {}
        for summary in self.summaries.values():
            counts.update({str(k): int(v) for k, v in (summary.get("fired") or {}).items()})
        return {name: counts[name] for name in order if name in counts}

    def at_boundary(self, counters: Iterable[List[str]]) -> Dict[str, int]:
        """Messages counted on edges with foreign endpoints: ``[label, node, "sent"|"received", key]`` each."""
        return {label: int((self.summaries[node].get(kind) or {}).get(key, 0))
                for label, node, kind, key in counters if node in self.summaries}

    def undelivered(self, edges: Iterable[List[str]]) -> Dict[str, int]:
        """Per edge between Nodes, messages the sender counted and the receiver never got, by the summaries.

        This is how a run stopped by ``--duration`` (or Ctrl-C) still says what it lost: every Node ends
        with its counts, whatever ended the run.
        """
        out = {}
        for src, key, dst, inp in edges:
            if src in self.summaries and dst in self.summaries:
                gap = (self.summaries[src].get("sent") or {}).get(key, 0) - \
                      (self.summaries[dst].get("received") or {}).get(inp, 0)
                if gap > 0:
                    out[f"{src}/{key} -> {dst}/{inp}"] = gap
        return out

    def component_error(self, where: str = "") -> Optional[ComponentError]:
        """The error of the first component that failed, if any (the same exception on every engine)."""
        for failure in self.failures:
            if failure.get("component"):
                return ComponentError(str(failure["component"]), str(failure.get("node")),
                                      str(failure.get("machine")), str(failure.get("phase")),
                                      str(failure.get("traceback", "")) + where)
        return None


def _marked(lines: Iterable[str]):
    """``(mark, JSON object)`` for every marked line (each reported once; prefixes before a mark ignored)."""
    seen = set()
    decoder = json.JSONDecoder()
    for line in lines:
        for mark in (marks.SUMMARY, marks.FAILURE, marks.LOST, marks.PROFILE):
            at = line.find(mark)
            if at < 0:
                continue
            try:
                value, _ = decoder.raw_decode(line[at + len(mark):])
            except ValueError:
                continue
            key = (mark, json.dumps(value, sort_keys=True))
            if isinstance(value, dict) and key not in seen:
                seen.add(key)
                yield mark, value
