"""lkbuild.engines.profile: the Nodes' parts merged with the graph, and the table the README shows."""
from __future__ import annotations

import re
from pathlib import Path

from lkbuild import Component, Node, System
from lkbuild.engines import profile

README = Path(__file__).resolve().parents[3] / "README.md"


class Source(Component):
    def forward(self):
        return 1


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


def two_nodes():
    source, sink = Source("source", node=Node("a", machine="m1")), Sink("sink", node=Node("b", machine="m2"))
    return System(components=[source, sink], name="two").spec()


def part(node, components, outputs=None, inputs=None, paths=None):
    return {"node": node, "machine": node, "wall_s": 2.0, "cpu_s": 0.5, "components": components,
            "outputs": outputs or {}, "inputs": inputs or {}, "paths": paths or {}}


def test_the_sender_counts_and_the_receiver_latency_make_one_edge():
    stats = {"count": 9, "mean": 0.001, "min": 0.0005, "p50": 0.001, "p95": 0.002, "max": 0.003}
    parts = [part("a", {"source": {"fired": 11, "forward_s": stats, "cpu_s": 0.1, "active_s": 1.0}},
                  outputs={"source.out": {"messages": 11, "bytes": 132}}),
             part("b", {"sink": {"fired": 9, "forward_s": stats, "cpu_s": 0.05, "active_s": 1.0}},
                  inputs={"sink.x": {"messages": 9, "latency_s": stats, "deepest_queue": 2}},
                  paths={"source -> sink": stats})]
    merged = profile.merge(two_nodes(), parts, "dora", "r1")

    (edge,) = merged["edges"]
    assert (edge["messages"], edge["delivered"], edge["dropped"], edge["deepest_queue"]) == (11, 9, 2, 2)
    assert edge["between_machines"] and edge["per_s"] == 10.0 and edge["bytes_per_s"] == 120.0
    assert merged["components"]["source"]["out_per_s"] == 10.0 and merged["components"]["sink"]["in_per_s"] == 8.0
    assert merged["components"]["source"]["cpu_share"] == 0.2 and merged["components"]["source"]["cores"] == 0.05
    assert merged["paths"] == [{"source": "source", "sink": "sink", "latency_s": stats}]
    text = "\n".join(profile.table(merged))
    assert re.search(r"source.out -> sink.x +machines +11 ", text) and "1.0 ms" in text


def test_the_readme_shows_the_table_as_lkbuild_prints_it():
    block = re.search(r"Profile of 'robot'.*?```", README.read_text(), re.S).group(0)
    headers = [line.split()[:3] for line in block.splitlines() if line.startswith(("component", "edge", "path"))]
    stats = {"count": 1, "mean": 0.001, "min": 0.001, "p50": 0.001, "p95": 0.001, "max": 0.001}
    merged = profile.merge(two_nodes(), [part("a", {"source": {"fired": 1, "forward_s": stats, "cpu_s": 0,
                                                                "active_s": 0}}, paths={"source -> sink": stats})],
                           "native")
    printed = [line.split()[:3] for line in profile.table(merged) if line.startswith(("component", "edge", "path"))]
    assert headers == printed
