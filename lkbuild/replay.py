"""Replaying a recording into a system, and comparing two recordings.

``replay_spec`` checks that a recording fits the system, writes the recorded messages of the replaced
components into parts of their own, and returns the IR to run: each replaced component loses its
inputs and plays its part (``lk_runtime.record.Player``), at the recorded logical times, on any engine.
``differences`` is what ``lkbuild diff`` prints: per component output, the first message that differs.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import ConfigError
from .graph.plan import system_tick_hz
from .recording import Message, Recording, digest, port_schemas, what
from .runtime_stubs.lk_runtime import record


def changes(recorded: Dict, current: Dict) -> List[str]:
    """What differs between the IR a recording was made with and the system's, component by component."""
    out = []
    old = {c["name"]: c for c in recorded.get("components", ())}
    new = {c["name"]: c for c in current.get("components", ())}
    for name in sorted(set(old) - set(new)):
        out.append(f"component '{name}' was removed")
    for name in sorted(set(new) - set(old)):
        out.append(f"component '{name}' was added")
    for name in sorted(set(old) & set(new)):
        fields = sorted(k for k in set(old[name]) | set(new[name]) if old[name].get(k) != new[name].get(k))
        if fields:
            out.append(f"component '{name}': {', '.join(fields)} changed")
    for key in sorted(set(recorded) | set(current)):
        if key != "components" and recorded.get(key) != current.get(key):
            out.append(f"the system's {key} changed")
    return out


def misfits(rec: Recording, spec, replaced: Sequence[str]) -> List[str]:
    """Why the replaced components' recorded messages cannot go into ``spec`` (empty: they fit)."""
    recorded, current = rec.meta.get("schemas") or {}, port_schemas(spec)
    out = []
    if int(rec.meta["tick_hz"]) != system_tick_hz(spec):
        out.append(f"the run's clock changed ({rec.meta['tick_hz']} -> {system_tick_hz(spec)} ticks/s: a rate changed)")
    consumers = {}
    for e in spec.edges:
        consumers.setdefault(e.src, []).append(e)
    for name in replaced:
        if name not in recorded:
            out.append(f"component '{name}' is not in the recording")
            continue
        was, now = recorded[name], current[name]
        if was["outputs"] != now["outputs"]:
            out.append(f"component '{name}': outputs were {was['outputs']}, are {now['outputs']}")
        if was["rate_hz"] != now["rate_hz"]:
            out.append(f"component '{name}': rate_hz was {was['rate_hz']}, is {now['rate_hz']}")
        for e in consumers.get(name, ()):
            before = (recorded.get(e.dst) or {}).get("inputs", {})
            if e.input not in before:
                out.append(f"input '{e.dst}.{e.input}' fed by '{name}.{e.output}' is new")
            elif before[e.input] != current[e.dst]["inputs"][e.input]:
                out.append(f"input '{e.dst}.{e.input}' was annotated {before[e.input]}, is "
                           f"{current[e.dst]['inputs'][e.input]}")
    return out


def replay_spec(rec: Recording, spec, replace_names: Sequence[str], parts_dir: Path,
                allow_changed: bool = False):
    """The IR that plays ``rec``'s messages of ``replace_names`` (default: the sources) into ``spec``.

    Raises ConfigError when the recording does not fit, saying what changed.
    """
    names = list(replace_names) or [c.name for c in spec.components if c.is_source]
    unknown = [n for n in names if spec.component(n) is None]
    if unknown:
        raise ConfigError(f"--replace {', '.join(unknown)}: no such component in system '{spec.name}' "
                          f"(it has {', '.join(c.name for c in spec.components)}).")
    problems = misfits(rec, spec, names)
    if digest(spec) != rec.meta.get("ir_sha256") and not allow_changed:
        problems = problems + changes(rec.meta.get("ir") or {}, what(spec)) + [
            "(pass --allow-changed to replay into a changed system whose replaced outputs still fit)"]
    if problems:
        raise ConfigError(f"the recording {rec.path} does not fit system '{spec.name}' as it is now:\n  "
                          + "\n  ".join(problems))
    parts_dir.mkdir(parents=True, exist_ok=True)
    tick_hz = int(rec.meta["tick_hz"])
    components = []
    for c in spec.components:
        if c.name not in names:
            components.append(c)
            continue
        part = (parts_dir / f"{c.name}.mcap").resolve()
        writer = record.PartWriter(str(part), c.name, tick_hz, realtime=False)
        for m in sorted((m for m in rec.messages if m.component == c.name), key=lambda m: (m.tick, m.output, m.sequence)):
            writer(m.component, m.output, m.payload, m.tick)
        writer.close()
        components.append(replace(c, inputs=(), starts_loop=False, replay=str(part)))
    edges = tuple(e for e in spec.edges if e.dst not in names)
    return replace(spec, components=tuple(components), edges=edges), names


def iterations_of(rec: Recording, names: Sequence[str]) -> int:
    """How many times the replay's remaining sources fire: as in the recording, else the replayed firings."""
    if rec.meta.get("iterations"):
        return int(rec.meta["iterations"])
    return max([len({m.tick for m in rec.messages if m.component == n}) for n in names] + [0])


# -- diff ------------------------------------------------------------------------------------------------------
def differences(a: Recording, b: Recording) -> List[Tuple[str, str]]:
    """Per component output, ``(output, what differs)`` for the first message that differs; empty: the same."""
    out = []
    sa, sb = a.streams(), b.streams()
    for key in sorted(set(sa) | set(sb)):
        name = f"{key[0]}/{key[1]}"
        ma, mb = sa.get(key, []), sb.get(key, [])
        for i in range(max(len(ma), len(mb))):
            x = ma[i] if i < len(ma) else None
            y = mb[i] if i < len(mb) else None
            if x is not None and y is not None and x.tick * b.tick_hz == y.tick * a.tick_hz and x.payload == y.payload:
                continue
            out.append((name, f"message {i}: A {_show(x, a)}; B {_show(y, b)}"))
            break
    return out


def _show(m: Optional[Message], rec: Recording) -> str:
    if m is None:
        return "has no such message"
    return f"at t={m.tick / rec.tick_hz:g} s: {record.preview(m.payload)}"
