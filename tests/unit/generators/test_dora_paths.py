"""The dora dataflow keeps every path one argument, whatever characters it holds (dora splits like a shell)."""
from __future__ import annotations

import shlex

import pytest
import yaml

from lkbuild.errors import ConfigError
from lkbuild.generators import dora as generator

from test_dora_generator import PYTHON, robot

ODD_ROOT = "/srv/it's a \"proj\" v2 #1 $HOME: `x` é/.lk_build/dora"


def test_each_entrypoint_path_is_one_argument_of_args():
    files = generator.generate(robot(), {"root": ODD_ROOT, "python": PYTHON})
    for name in ("dataflow.yaml", "dataflow.local.yaml"):
        nodes = yaml.safe_load(files[name])["nodes"]
        assert [shlex.split(n["args"]) for n in nodes] == [["-u", f"{ODD_ROOT}/nodes/{n['id']}.py"] for n in nodes]


def test_a_root_with_a_line_break_is_refused():
    with pytest.raises(ConfigError, match="line break"):
        generator.generate(robot(), {"root": "/srv/a\nb", "python": PYTHON})
