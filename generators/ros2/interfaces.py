"""What crosses process boundaries on ROS 2: topics, message types, QoS and parameters, from the IR."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ...runtime_stubs.lk_runtime import rosmsg

# Port annotations that travel as std_msgs scalars; everything else is the codec's bytes.
SCALARS = {
    "str": "std_msgs/msg/String",
    "int": "std_msgs/msg/Int64",
    "float": "std_msgs/msg/Float64",
    "bool": "std_msgs/msg/Bool",
}
BYTES = "std_msgs/msg/UInt8MultiArray"
STATUS_TOPIC = "_lk/status"    # a Node's statuses: <STATUS_TOPIC>/<node>
CONTROL_TOPIC = "_lk/control"  # the leader's decisions


def message_kind(annotation: Optional[str]) -> Dict[str, str]:
    """``{"kind", "type"}`` for an output annotation: a scalar, a ROS message class, or codec bytes."""
    text = (annotation or "").strip()
    if text.startswith("builtins."):
        text = text[len("builtins."):]
    if text in SCALARS:
        return {"kind": text, "type": SCALARS[text]}
    ros = rosmsg.type_name(text)
    if ros:
        return {"kind": "ros", "type": ros}
    return {"kind": "bytes", "type": BYTES}


def topics(spec) -> List[Dict[str, Any]]:
    """One topic per output that feeds a component on another Node, in a stable order."""
    node_of = {c.name: c.node for c in spec.components}
    found: Dict[tuple, Dict[str, Any]] = {}
    foreign = {f.name: f for f in spec.foreign if f.kind == "ros_topic"}
    for e in spec.edges:
        if e.src in foreign or e.dst in foreign:
            _foreign_topic(spec, e, foreign, node_of, found)
            continue
        if node_of.get(e.src) == node_of.get(e.dst):
            continue
        src = spec.component(e.src)
        port = spec.component(e.dst).input(e.input)
        out_port = src.output(e.output)
        topic = found.get((e.src, e.output))
        if topic is None:
            name = out_port.topic or f"{e.src}/{e.output}"  # ros_topics = {"out": {"topic": ...}}
            topic = found[(e.src, e.output)] = {
                "src": e.src,
                "output": e.output,
                "name": name,
                "full_name": name if name.startswith("/") else f"/{spec.name}/{name}",
                "node": node_of[e.src],
                **message_kind(src.output(e.output).annotation),
                "depth": 1,
                "keep_all": False,
                "subscribers": [],
            }
        keep_all = port.queue_policy == "backpressure"
        subscriber = {"dst": e.dst, "input": e.input, "node": node_of[e.dst], "key": f"{e.dst}.{e.input}",
                      "depth": port.queue_size, "keep_all": keep_all}
        if port.qos or out_port.qos:  # ros_topics: the port's own QoS (an input's, else its source's)
            subscriber["qos"] = dict(port.qos or out_port.qos)
        if out_port.qos:
            topic["qos"] = dict(out_port.qos)
        topic["subscribers"].append(subscriber)
        topic["depth"] = max(topic["depth"], port.queue_size)
        topic["keep_all"] = topic["keep_all"] or keep_all
    for topic in found.values():
        topic["subscribers"].sort(key=lambda s: s["key"])
    return [found[key] for key in sorted(found, key=lambda k: tuple(map(str, k)))]


def _foreign_topic(spec, e, foreign, node_of, found) -> None:
    """An edge with a RosTopic: a publisher of the component on that topic, or a subscription to it.

    The topic keeps the name the user gave (a relative one resolves under the Node's namespace), its real
    message type and QoS; ``foreign`` marks it: nobody in the system is waited for on it.
    """
    t = foreign[e.dst] if e.dst in foreign else foreign[e.src]
    publishing = e.dst in foreign
    key = (e.src, e.output, t.name) if publishing else (t.name, "out", "")
    topic = found.get(key)
    if topic is None:
        topic = found[key] = {
            "src": e.src if publishing else None,
            "output": e.output if publishing else None,
            "name": t.topic,
            "full_name": t.topic if t.topic.startswith("/") else f"/{spec.name}/{t.topic}",
            "node": node_of[e.src] if publishing else None,
            "kind": "image" if t.inputs[0].format == "image" else "ros",
            "type": t.msg_type,
            "depth": int(t.qos.get("depth", 10)),
            "keep_all": t.qos.get("history") == "keep_all",
            "qos": dict(t.qos),
            "foreign": t.name,
            "subscribers": [],
        }
    if not publishing:
        topic["subscribers"].append({"dst": e.dst, "input": e.input, "node": node_of[e.dst],
                                     "key": f"{e.dst}.{e.input}", "depth": topic["depth"],
                                     "keep_all": topic["keep_all"]})


def message_packages(all_topics, messages: Iterable[str] = ()) -> List[str]:
    """The ROS packages whose messages the topics and ports use (std_msgs always: the status topic uses it)."""
    return sorted({"std_msgs"} | {t.split("/")[0] for t in [*(t["type"] for t in all_topics), *messages]})


def ros_messages(spec, node: Optional[str] = None) -> List[str]:
    """The ROS message types the ports of one Node (or of the system) carry: ``graph.plan.messages``."""
    from ...graph.plan import messages

    return messages(spec, node)


def message_imports(types: Iterable[str]) -> List[Dict[str, str]]:
    """How a generated entrypoint imports each ROS message type: module, class and a unique alias.

    The parts passed ``rosmsg.MESSAGE`` (lowercase package, CamelCase class), so they are safe as source.
    """
    out = []
    for name in sorted(set(types)):
        package, kind, cls = (name.split("/") + ["", ""])[:3]
        if kind != "msg" or name.count("/") != 2 or not rosmsg.MESSAGE.match(f"{package}.msg.{cls}"):
            raise ValueError(f"not a ROS message type: {name!r}")
        out.append({"name": name, "module": f"{package}.msg", "cls": cls, "alias": f"{package}__{cls}"})
    return out


def node_interfaces(spec, node: str, all_topics) -> Dict[str, Any]:
    """The ROS side of one Node's plan: its namespace, topics, control plane and parameters."""
    from ...graph.plan import control_plane

    members = spec.node(node).components
    return {
        "namespace": f"/{spec.name}",
        "nodes": [n.name for n in spec.nodes],
        "status_topic": STATUS_TOPIC,
        "control_topic": CONTROL_TOPIC,
        "plane": control_plane(spec, node),
        "topics": all_topics,
        "parameters": {name: parameters(spec.component(name).config) for name in members},
    }


def parameters(config: Dict[str, Any]) -> Dict[str, Any]:
    """The config fields a ROS parameter can hold: bool, int, float, str and non-empty lists of one of them.

    Other fields (None, nested dicts, mixed lists) keep their compiled value and are not parameters.
    """
    out = {}
    for key, value in sorted((config or {}).items()):
        if isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, list) and value:
            kinds = {bool if isinstance(v, bool) else type(v) for v in value}
            if kinds <= {int, float} and float in kinds:
                out[key] = [float(v) for v in value]
            elif len(kinds) == 1 and kinds.pop() in (bool, int, float, str):
                out[key] = list(value)
    return out
