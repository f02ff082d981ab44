"""Drawings of a system: Mermaid text and one self-contained HTML page (inline SVG, no scripts).

The HTML page labels every edge with its ports; given a profile (``lkbuild launch --profile``) also with
its rate, bytes per second and transport latency, and every component with its ``forward()`` time and
share of its process's CPU. Edges between machines are drawn thick and dashed, edges between Nodes of
one machine dashed, edges inside a Node plain (classes ``edge in-process|between-nodes|between-machines``).
"""
from __future__ import annotations

import html as _html
from typing import Any, Dict, List, Optional, Tuple

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 54, 210, 40, 24
PROFILED_BOX_H = 72
HALO = 'text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="3"'  # labels stay readable over lines
EDGE_STYLE = {"in-process": 'stroke="#555" stroke-width="1.5"',
              "between-nodes": 'stroke="#555" stroke-width="2" stroke-dasharray="6 3"',
              "between-machines": 'stroke="#c0392b" stroke-width="3.5" stroke-dasharray="10 4"'}


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


FOREIGN_TITLE = {"dora": "dora node", "ros_topic": "ROS 2 topic"}


def _foreign_label(f) -> str:
    """What a foreign endpoint's box says under its name: its kind and what it runs or names."""
    return f"{FOREIGN_TITLE.get(f.kind, f.kind)}: {f.path or f.name}"


def mermaid(spec) -> str:
    """``flowchart LR`` with one subgraph per node (titled with its machine) and labelled edges; foreign
    endpoints (dora nodes, ROS 2 topics) are dashed hexagons outside the Nodes."""
    ids = {c.name: f"c{i}" for i, c in enumerate(spec.components)}
    ids.update({f.name: f"f{i}" for i, f in enumerate(spec.foreign)})
    lines = ["flowchart LR"]
    for n_i, node in enumerate(spec.nodes):
        title = node.name + (f" @ {node.machine}" if node.machine else "")
        lines.append(f'  subgraph n{n_i}["{_label(title)}"]')
        for name in node.components:
            lines.append(f'    {ids[name]}["{_label(name)}"]')
        lines.append("  end")
    for f in spec.foreign:
        lines.append(f'  {ids[f.name]}{{{{"{_label(f.name)}<br/>{_label(_foreign_label(f))}"}}}}')
    for e in spec.edges:
        if e.src in ids and e.dst in ids:
            lines.append(f'  {ids[e.src]} -- "{_label(e.output)} → {_label(e.input)}" --> {ids[e.dst]}')
    for n_i, node in enumerate(spec.nodes):
        lines.append(f"  style n{n_i} fill:{PALETTE[n_i % len(PALETTE)]}22,stroke:{PALETTE[n_i % len(PALETTE)]}")
    if spec.foreign:
        lines.append("  classDef foreign fill:#fff,stroke:#333,stroke-dasharray:5 5")
        lines.append(f"  class {','.join(ids[f.name] for f in spec.foreign)} foreign")
    return "\n".join(lines) + "\n"


def layers(spec) -> Dict[str, int]:
    """Column of each component: longest path from a source, loops broken at their back edges."""
    succ: Dict[str, List[str]] = {c.name: [] for c in (*spec.components, *spec.foreign)}
    for e in spec.edges:
        if e.src in succ and e.dst in succ:
            succ[e.src].append(e.dst)
    back, state = set(), {}

    def visit(name):
        state[name] = 1
        for nxt in succ[name]:
            if state.get(nxt) == 1:
                back.add((name, nxt))
            elif nxt not in state:
                visit(nxt)
        state[name] = 2

    for name in succ:
        if name not in state:
            visit(name)
    column = {name: 0 for name in succ}
    for _ in range(len(column)):
        for src, targets in succ.items():
            for dst in targets:
                if (src, dst) not in back and column[dst] < column[src] + 1:
                    column[dst] = column[src] + 1
    return column


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value * 1e3:.1f} ms" if value >= 0.001 else f"{value * 1e6:.0f} us"


def _bytes(value: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def edge_figures(edge: Dict[str, Any]) -> str:
    """``30.0 msg/s · 1.6 KiB/s · 0.4 ms`` (the latency only for edges between Nodes)."""
    text = f"{edge['per_s']:.1f} msg/s · {_bytes(edge['bytes_per_s'])}/s"
    latency = edge.get("latency_s")
    if latency:
        text += f" · {_seconds(latency.get('mean'))}"
    if edge.get("dropped"):
        text += f" · {edge['dropped']} dropped"
    return text


def component_figures(figures: Dict[str, Any]) -> str:
    """``fwd 0.4 ms · cpu 40%``: mean forward() time and share of its process's CPU."""
    forward = figures.get("forward_s") or {}
    return f"fwd {_seconds(forward.get('mean'))} · cpu {100 * figures.get('cpu_share', 0.0):.0f}%"


def html(spec, profile: Optional[Dict[str, Any]] = None) -> str:
    """One HTML file: an SVG of the graph, components coloured by node, with a legend (and the profile's figures)."""
    esc = _html.escape
    box_h = PROFILED_BOX_H if profile else BOX_H
    profiled = {(e["src"], e["dst"]): e for e in (profile or {}).get("edges", [])}
    figures = (profile or {}).get("components", {})
    machine_of = {n.name: n.machine or "local" for n in spec.nodes}
    column = layers(spec)
    rows: Dict[int, int] = {}
    pos: Dict[str, Tuple[int, int]] = {}
    for c in (*spec.components, *spec.foreign):
        col = column[c.name]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[c.name] = (MARGIN + col * (BOX_W + GAP_X), MARGIN + row * (box_h + GAP_Y))
    width = MARGIN * 2 + (max(column.values(), default=0) + 1) * (BOX_W + GAP_X)
    height = MARGIN * 2 + max(rows.values(), default=1) * (box_h + GAP_Y) + GAP_Y
    colour = {n.name: PALETTE[i % len(PALETTE)] for i, n in enumerate(spec.nodes)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    node_of = {c.name: c.node for c in spec.components}
    for e in spec.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        sx, sy, tx, ty = x1 + BOX_W, y1 + box_h / 2, x2, y2 + box_h / 2
        if tx <= sx:  # a loop's back edge: route it below the boxes
            low = max(y1, y2) + box_h + GAP_Y / 2
            path = f"M {x1 + BOX_W / 2} {y1 + box_h} C {x1 + BOX_W / 2} {low}, {x2 + BOX_W / 2} {low}, {x2 + BOX_W / 2} {y2 + box_h}"
            lx, ly = (x1 + x2 + BOX_W) / 2, low - 4
        else:
            mid = (sx + tx) / 2
            path = f"M {sx} {sy} C {mid} {sy}, {mid} {ty}, {tx} {ty}"
            lx, ly = mid, (sy + ty) / 2 - 6
        kind = ("in-process" if node_of[e.src] == node_of[e.dst] else
                "between-nodes" if machine_of.get(node_of[e.src]) == machine_of.get(node_of[e.dst]) else
                "between-machines")
        key = (f"{e.src}.{e.output}", f"{e.dst}.{e.input}")
        label = f'<text class="edge-label" x="{lx}" y="{ly}" {HALO} font-size="11">' \
                f"{esc(e.output)} → {esc(e.input)}</text>"
        if key in profiled:
            label += (f'<text class="edge-figures" x="{lx}" y="{ly + 22}" {HALO} font-size="10" '
                      f'fill="#333">{esc(edge_figures(profiled[key]))}</text>')
        parts.append(f'<g class="edge {kind}" data-edge="{esc(key[0])} -> {esc(key[1])}">'
                     f'<path d="{path}" fill="none" {EDGE_STYLE[kind]} marker-end="url(#arrow)">'
                     f"<title>{esc(str(e))} ({kind})</title></path>{label}</g>")
    for c in spec.components:
        x, y = pos[c.name]
        node = spec.node(c.node) if c.node in {n.name for n in spec.nodes} else None
        fill = colour.get(c.node, "#999")
        where = f"{c.node}" + (f" @ {node.machine}" if node is not None and node.machine else "")
        ports = f"in: {', '.join(p.name for p in c.inputs) or '-'} | out: {', '.join(p.name for p in c.outputs) or '-'}"
        measured = ""
        if c.name in figures:
            measured = (f'<text class="component-figures" x="{x + BOX_W / 2}" y="{y + 58}" text-anchor="middle" '
                        f'font-size="11" fill="#222">{esc(component_figures(figures[c.name]))}</text>')
        parts.append(
            f'<g class="component" data-component="{esc(c.name)}"><title>{esc(c.class_path)}\n{esc(ports)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{box_h}" rx="8" fill="{fill}" fill-opacity="0.18" '
            f'stroke="{fill}" stroke-width="2"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 22}" text-anchor="middle" font-weight="bold">{esc(c.name)}</text>'
            f'<text x="{x + BOX_W / 2}" y="{y + 40}" text-anchor="middle" fill="#444">{esc(where)}</text>{measured}</g>'
        )
    for f in spec.foreign:  # dashed, white: lkbuild wires these but does not run them
        x, y = pos[f.name]
        ports = f"in: {', '.join(p.name for p in f.inputs) or '-'} | out: {', '.join(p.name for p in f.outputs) or '-'}"
        parts.append(
            f'<g class="foreign"><title>{esc(_foreign_label(f))}\n{esc(ports)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="2" fill="#fff" stroke="#333" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 22}" text-anchor="middle" font-weight="bold">{esc(f.name)}</text>'
            f'<text x="{x + BOX_W / 2}" y="{y + 40}" text-anchor="middle" fill="#444">'
            f'{esc(FOREIGN_TITLE.get(f.kind, f.kind))}</text></g>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<li><span style="background:{colour[n.name]}"></span>{esc(n.name)}'
        f'{" on " + esc(n.machine) if n.machine else ""}{" (" + esc(n.engine) + ")" if n.engine else ""}</li>'
        for n in spec.nodes
    )
    subtitle = ""
    if profile:
        subtitle = (f'<p class="profile">Profile: {esc(str(profile.get("engine")))} run of '
                    f'{float(profile.get("duration_s") or 0.0):.1f} s</p>')
    key = ('<p>Edges: plain inside a Node, dashed between Nodes, <span style="color:#c0392b">thick red dashed</span> '
           'between machines.</p>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(spec.name)} — lkbuild graph</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}ul{list-style:none;padding:0}"
        "li{margin:.3em 0}li span{display:inline-block;width:1em;height:1em;margin-right:.5em;"
        "vertical-align:middle;border-radius:3px}</style></head><body>"
        f"<h1>{esc(spec.name)}</h1>{subtitle}{''.join(parts)}<h2>Nodes</h2><ul>{legend}</ul>{key}</body></html>\n"
    )
