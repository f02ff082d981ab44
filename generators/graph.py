"""Drawings of a system: Mermaid text and one self-contained HTML page (inline SVG, no scripts)."""
from __future__ import annotations

import html as _html
from typing import Dict, List, Tuple

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 54, 70, 26, 24


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


def html(spec) -> str:
    """One HTML file: an SVG of the graph, components coloured by node, with a legend."""
    esc = _html.escape
    column = layers(spec)
    rows: Dict[int, int] = {}
    pos: Dict[str, Tuple[int, int]] = {}
    for c in (*spec.components, *spec.foreign):
        col = column[c.name]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[c.name] = (MARGIN + col * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y))
    width = MARGIN * 2 + (max(column.values(), default=0) + 1) * (BOX_W + GAP_X)
    height = MARGIN * 2 + max(rows.values(), default=1) * (BOX_H + GAP_Y)
    colour = {n.name: PALETTE[i % len(PALETTE)] for i, n in enumerate(spec.nodes)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for e in spec.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
        if tx <= sx:  # a loop's back edge: route it below the boxes
            low = max(y1, y2) + BOX_H + GAP_Y / 2
            path = f"M {x1 + BOX_W / 2} {y1 + BOX_H} C {x1 + BOX_W / 2} {low}, {x2 + BOX_W / 2} {low}, {x2 + BOX_W / 2} {y2 + BOX_H}"
        else:
            mid = (sx + tx) / 2
            path = f"M {sx} {sy} C {mid} {sy}, {mid} {ty}, {tx} {ty}"
        parts.append(f'<path d="{path}" fill="none" stroke="#555" marker-end="url(#arrow)">'
                     f"<title>{esc(str(e))}</title></path>")
    for c in spec.components:
        x, y = pos[c.name]
        node = spec.node(c.node) if c.node in {n.name for n in spec.nodes} else None
        fill = colour.get(c.node, "#999")
        where = f"{c.node}" + (f" @ {node.machine}" if node is not None and node.machine else "")
        ports = f"in: {', '.join(p.name for p in c.inputs) or '-'} | out: {', '.join(p.name for p in c.outputs) or '-'}"
        parts.append(
            f'<g><title>{esc(c.class_path)}\n{esc(ports)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" fill-opacity="0.18" '
            f'stroke="{fill}" stroke-width="2"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 22}" text-anchor="middle" font-weight="bold">{esc(c.name)}</text>'
            f'<text x="{x + BOX_W / 2}" y="{y + 40}" text-anchor="middle" fill="#444">{esc(where)}</text></g>'
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
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(spec.name)} — lkbuild graph</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}ul{list-style:none;padding:0}"
        "li{margin:.3em 0}li span{display:inline-block;width:1em;height:1em;margin-right:.5em;"
        "vertical-align:middle;border-radius:3px}</style></head><body>"
        f"<h1>{esc(spec.name)}</h1>{''.join(parts)}<h2>Nodes</h2><ul>{legend}</ul></body></html>\n"
    )
