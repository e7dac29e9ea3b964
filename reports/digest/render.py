"""A digest as Markdown (``templates/digest/digest.md.j2``, found where the remediation templates
are) and as JSON (pure)."""

from __future__ import annotations

import json
from functools import lru_cache

import jinja2

from checks.remediation import TEMPLATE_DIR
from reports.digest import text
from reports.digest.model import Digest


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=text.pct, duration=text.duration, money=text.money, hours=text.hours)
    return env


def markdown(digest: Digest, *, chart: str | None = None, alt: str = "") -> str:
    """The digest as Markdown; ``chart``: where its PNG is, relative to the Markdown file (None: no chart)."""
    template = _environment().get_template("digest/digest.md.j2")
    body = template.render(d=digest, chart=chart, alt=alt, basis=text.UPTIME_BASIS, trend=text.trend_line)
    return body.rstrip() + "\n"


def json_text(digest: Digest) -> str:
    return json.dumps(digest.to_json(), indent=2, sort_keys=True) + "\n"
