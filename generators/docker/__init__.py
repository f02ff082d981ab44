"""Docker deploy files for one machine's bundle: Dockerfile, run.sh, Makefile, selftest, verify.

``generate(spec, options)`` is pure: the bundler (``lkbuild.bundle``) decides what goes in and passes
it as options; this module only renders. Options:

- ``system``, ``machine``, ``engine``, ``engine_config``: names, and the engine config path in the bundle;
- ``engine_binary``: the command the engine runs M's part with (dora: the daemon), or None;
- ``commands``: ros2: ``[{"node", "module", "ros_args"}]``, the node processes ``run.sh up`` starts;
- ``base_image``, ``python``, ``platform``: the target (``platform`` as Docker spells it);
- ``offline``: install from ``wheels/`` only (``--no-index``); ``wheels``: the bundle has a ``wheels/`` folder;
- ``image``: the tag ``make image`` builds;
- ``nodes``, ``plans``: M's node names and their node plans (for the self-test);
- ``coordinator``: ``{"addr", "port"}`` the daemon joins unless the environment says otherwise;
- ``runtime_modules``: modules the self-test imports to check the engine runtime;
- ``ir_sha256``: the IR's digest, as an image label.
"""
from __future__ import annotations

import json
import re
import shlex
from typing import Any, Dict

from ...errors import ConfigError
from ..templating import render

PACKAGE = "lkbuild.generators.docker"
USER_ID = 10001
_DEVICE = re.compile(r"^/dev/[A-Za-z0-9_./-]+$")
FILES = {
    "Dockerfile": "Dockerfile.j2",
    ".dockerignore": "dockerignore.j2",
    "run.sh": "run.sh.j2",
    "Makefile": "Makefile.j2",
    "verify.py": "verify.py.j2",
    "app/selftest.py": "selftest.py.j2",
}


def devices(spec, machine: str):
    """The machine's devices, checked: each becomes a ``--device`` argument."""
    try:
        found = spec.machine(machine).devices
    except KeyError:
        return []
    for device in found:
        if not _DEVICE.match(device):
            raise ConfigError(f"Machine '{machine}': device {device!r} is not a /dev path.")
    return sorted(found)


def generate(spec, options: Dict[str, Any]) -> Dict[str, bytes]:
    """{bundle path: bytes} of the deploy files for ``options["machine"]``."""
    context = dict(options)
    context["user_id"] = USER_ID
    context.setdefault("foreign_venv", False)     # /opt/foreign: the venv of foreign dora nodes' packages
    context.setdefault("foreign_programs", [])    # what dora starts for them, checked by the self-test
    context["devices"] = devices(spec, options["machine"])
    context["plans_json"] = json.dumps(options["plans"], sort_keys=True, separators=(",", ":"))
    context["sh"] = shlex.quote
    return {path: render(PACKAGE, template, **context) for path, template in sorted(FILES.items())}
