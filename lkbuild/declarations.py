"""What a Component class declares — outputs, input queues, a Config — checked when it is used.

Each check raises a GraphError naming the class and what to write instead; the loader adds the line
of the user's code that used it.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Tuple

from .errors import GraphError

def normalize_outputs(value, cls_name: str) -> Tuple[Tuple[str, ...], Dict[str, Any]]:
    if isinstance(value, str):
        return (value,), {}
    if isinstance(value, dict):
        return tuple(value), dict(value)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        repeated = sorted({v for v in value if list(value).count(v) > 1})
        if repeated:
            raise GraphError(f"{cls_name}.outputs names {', '.join(repr(r) for r in repeated)} more than once; "
                             "give each output its own name.", code="LK252")
        return tuple(value), {}
    raise GraphError(
        f"{cls_name}.outputs must be a name, a tuple of names or a dict name -> type. "
        f"Received: outputs={value!r}", code="LK252",
    )


# Config fields checked against their annotation: the plain types a robot's settings are made of.
_PLAIN_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
QUEUE_KEYS = ("size", "policy")


def check_config_types(name: str, config) -> None:
    """A Config field annotated ``int`` (float, str, bool) must hold one: a typo fails here, not on a robot."""
    for f in dataclasses.fields(config):
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", None)
        accepted = _PLAIN_TYPES.get(annotation)
        value = getattr(config, f.name)
        if accepted is None or value is None:
            continue
        if isinstance(value, accepted) and (annotation == "bool" or not isinstance(value, bool)):
            continue
        raise GraphError(
            f"Component '{name}': Config field '{f.name}' is annotated {annotation}. "
            f"Received: {f.name}={value!r} (of type {type(value).__name__})", code="LK251",
        )


def check_queues(cls, inputs: Tuple[str, ...]) -> None:
    """``input_queues`` names real inputs and says only ``size`` and ``policy``; values are checked by the IR."""
    queues = getattr(cls, "input_queues", None)
    if queues is None:
        return
    example = 'input_queues = {"image": {"size": 2, "policy": "drop_oldest"}}'
    if not isinstance(queues, dict):
        raise GraphError(f"{cls.__name__}.input_queues must be a dict input -> {{size, policy}}, e.g. {example}. "
                         f"Received: input_queues={queues!r}", code="LK240")
    for port, settings in queues.items():
        if port not in inputs:
            raise GraphError(f"{cls.__name__}.input_queues names input '{port}', which forward() does not take. "
                             f"Its inputs: {', '.join(inputs) or 'none'}.", code="LK240")
        if not isinstance(settings, dict):
            raise GraphError(f"{cls.__name__}.input_queues['{port}'] must be a dict such as "
                             f"{{\"size\": 2, \"policy\": \"drop_oldest\"}}. Received: {settings!r}", code="LK240")
        unknown = sorted(set(settings) - set(QUEUE_KEYS))
        if unknown:
            raise GraphError(f"{cls.__name__}.input_queues['{port}']: unknown key {unknown[0]!r}; "
                             f"the keys are {', '.join(QUEUE_KEYS)}.", code="LK240")
