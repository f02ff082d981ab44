"""A run's profile (``lkbuild launch --profile``): the Nodes' parts merged into one, as JSON and as a table.

Every Node's process measures what it saw (``lk_runtime.profile``) and writes one ``LK_PROFILE`` line;
``merge`` puts the parts together with the system's graph: per component, per edge (the sender's counts
and sizes, the receiver's latency and queue), per path. The same code for every engine, so the figures
mean the same everywhere (docs/profile.md says what each one is).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from ..errors import ConfigError

SCHEMA = 1
FILE = "profile.json"


def _rate(count: int, span: float) -> float:
    """Per second while active: n events between the first and the last are n - 1 intervals."""
    return (count - 1) / span if count > 1 and span > 0 else 0.0


def placement(spec) -> Dict[str, Dict[str, str]]:
    """Node and machine of every component, as the profile records them."""
    machine = {n.name: n.machine or "local" for n in spec.nodes}
    return {c.name: {"node": c.node, "machine": machine.get(c.node, "local")} for c in spec.components}


def merge(spec, parts: Iterable[Dict[str, Any]], engine: str, run_id: str = "") -> Dict[str, Any]:
    """One profile from the parts the Nodes reported (one per process)."""
    parts = [p for p in parts if isinstance(p, dict) and isinstance(p.get("components"), dict)]
    where = placement(spec)
    figures: Dict[str, Dict[str, Any]] = {}
    process_cpu: Dict[str, float] = {}
    outputs: Dict[str, Dict[str, int]] = {}
    inputs: Dict[str, Dict[str, Any]] = {}
    paths: Dict[str, Any] = {}
    nodes: Dict[str, Dict[str, Any]] = {}
    for part in parts:
        node = str(part.get("node"))
        nodes[node] = {"machine": part.get("machine"), "wall_s": part.get("wall_s"), "cpu_s": part.get("cpu_s")}
        for name, data in part["components"].items():
            figures[name] = data
            process_cpu[name] = float(part.get("cpu_s") or 0.0)
        outputs.update(part.get("outputs") or {})
        inputs.update(part.get("inputs") or {})
        paths.update(part.get("paths") or {})
    duration = max([float(p.get("wall_s") or 0.0) for p in parts], default=0.0)

    received: Dict[str, int] = {}
    edges = []
    for e in spec.edges:
        src, dst = f"{e.src}.{e.output}", f"{e.dst}.{e.input}"
        sent = outputs.get(src, {"messages": 0, "bytes": 0})
        between_nodes = where[e.src]["node"] != where[e.dst]["node"]
        between_machines = where[e.src]["machine"] != where[e.dst]["machine"]
        arrived = inputs.get(dst) if between_nodes else None
        delivered = int(arrived["messages"]) if arrived else int(sent["messages"])
        if between_nodes and arrived is None and engine == "native":
            delivered = int(sent["messages"])  # native: every Node in one process, no transport
        received[e.dst] = received.get(e.dst, 0) + delivered
        span = float((figures.get(e.src) or {}).get("active_s") or 0.0)
        per_message = sent["bytes"] / sent["messages"] if sent["messages"] else 0.0
        per_s = _rate(int(sent["messages"]), span)
        edges.append({
            "src": src, "dst": dst, "between_nodes": between_nodes, "between_machines": between_machines,
            "messages": int(sent["messages"]), "delivered": delivered, "dropped": max(0, int(sent["messages"]) - delivered),
            "bytes": int(sent["bytes"]), "bytes_per_message": per_message, "per_s": per_s,
            "bytes_per_s": per_message * per_s,
            "latency_s": arrived.get("latency_s") if arrived else None,
            "deepest_queue": arrived.get("deepest_queue") if arrived else None,
        })

    components = {}
    for c in spec.components:
        data = figures.get(c.name)
        if data is None:
            continue
        span = float(data.get("active_s") or 0.0)
        out_messages = sum(int(v["messages"]) for k, v in outputs.items() if k.split(".", 1)[0] == c.name)
        out_bytes = sum(int(v["bytes"]) for k, v in outputs.items() if k.split(".", 1)[0] == c.name)
        cpu = float(data.get("cpu_s") or 0.0)
        own = process_cpu.get(c.name) or 0.0
        components[c.name] = {
            **where[c.name],
            "fired": int(data.get("fired") or 0),
            "forward_s": data.get("forward_s"),
            "cpu_s": cpu,
            "cpu_share": cpu / own if own > 0 else 0.0,
            "cores": cpu / duration if duration > 0 else 0.0,
            "messages_in": received.get(c.name, 0),
            "messages_out": out_messages,
            "in_per_s": _rate(received.get(c.name, 0), span),
            "out_per_s": _rate(out_messages, span),
            "bytes_per_message_out": out_bytes / out_messages if out_messages else 0.0,
        }
    return {
        "schema": SCHEMA, "system": spec.name, "engine": engine, "run_id": run_id, "duration_s": duration,
        "clock": "wall clock of each process (time.time_ns); latencies between machines include their clock offset",
        "nodes": nodes, "components": components, "edges": edges,
        "paths": [{"source": k.split(" -> ")[0], "sink": k.split(" -> ")[1], "latency_s": v}
                  for k, v in sorted(paths.items()) if v],
    }


def write(out_dir: Path, profile: Dict[str, Any]) -> Path:
    """``<out_dir>/profile.json`` (replaced atomically)."""
    path = Path(out_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(profile, indent=2) + "\n")  # in the system's order, as the table shows it
    tmp.replace(path)
    return path


def load(path) -> Dict[str, Any]:
    """A profile written by ``write``; ConfigError saying what is wrong with anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the profile {path}: {exc.strerror}. Write one with "
                          "`lkbuild launch --profile`.") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not a profile: not JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("components"), dict) \
            or not isinstance(data.get("edges"), list):
        raise ConfigError(f"{path} is not an lkbuild profile (schema {SCHEMA}). Write one with "
                          "`lkbuild launch --profile`.")
    return data


# -- the table --------------------------------------------------------------------------------------------
def ms(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value >= 1.0:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} us"


def size(value: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def _grid(header: List[str], rows: List[List[str]]) -> List[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)  # noqa: E731
                              for i, (v, w) in enumerate(zip(r, widths))).rstrip()
    return [fmt(header), *(fmt(r) for r in rows)]


def table(profile: Dict[str, Any]) -> List[str]:
    """The profile for a human: components, edges, paths."""
    out = [f"Profile of '{profile.get('system')}' on {profile.get('engine')}, "
           f"{profile.get('duration_s', 0.0):.1f} s"]
    rows = []
    for name, c in profile["components"].items():
        f = c.get("forward_s") or {}
        rows.append([name, f"{c['node']}@{c['machine']}", c["fired"], ms(f.get("mean")), ms(f.get("p50")),
                     ms(f.get("p95")), ms(f.get("max")), f"{100 * c['cpu_share']:.0f}%",
                     f"{c['in_per_s']:.1f}", f"{c['out_per_s']:.1f}",
                     size(c["bytes_per_message_out"]) if c["messages_out"] else "-"])
    out += [""] + _grid(["component", "node@machine", "fired", "fwd mean", "p50", "p95", "max", "cpu",
                         "in/s", "out/s", "out/msg"], rows)
    rows = []
    for e in profile["edges"]:
        lat = e.get("latency_s") or {}
        kind = "machines" if e["between_machines"] else "nodes" if e["between_nodes"] else "in-process"
        rows.append([f"{e['src']} -> {e['dst']}", kind, e["messages"], size(e["bytes"]), f"{e['per_s']:.1f}",
                     f"{size(e['bytes_per_s'])}/s", ms(lat.get("mean")), ms(lat.get("p95")), ms(lat.get("max")),
                     "-" if e.get("deepest_queue") is None else e["deepest_queue"], e["dropped"]])
    if rows:
        out += [""] + _grid(["edge", "crosses", "msgs", "bytes", "msg/s", "bytes/s", "lat mean", "p95", "max",
                             "queue", "dropped"], rows)
    rows = [[f"{p['source']} -> {p['sink']}", p["latency_s"]["count"], ms(p["latency_s"]["min"]),
             ms(p["latency_s"]["mean"]), ms(p["latency_s"]["p95"]), ms(p["latency_s"]["max"])]
            for p in profile.get("paths", [])]
    if rows:
        out += [""] + _grid(["path (end to end)", "count", "min", "mean", "p95", "max"], rows)
    return out


def conclude(out_dir: Path, spec, engine: str, parts: Iterable[Dict[str, Any]], run_id: str, result=None):
    """Merge and write the profile of a run that was profiled (also one stopped by Ctrl-C or a failure)."""
    profile = merge(spec, parts, engine, run_id)
    path = write(out_dir, profile)
    if result is not None:
        result.profile, result.profile_path = profile, path
    return profile, path
