"""The Jinja2 environment every generator renders with (strict, trailing newlines kept)."""
from __future__ import annotations

import functools
import json


@functools.lru_cache(maxsize=None)
def environment(package: str):
    """A Jinja2 environment loading ``templates/`` of ``package`` (e.g. ``lkbuild.generators.dora``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr
    env.filters["json"] = lambda value: json.dumps(value, sort_keys=True)
    return env


def render(package: str, template: str, **context) -> bytes:
    return environment(package).get_template(template).render(**context).encode()
