"""Render a finding's remediation steps from ``templates/remediation/<code>.md.j2``.

Template context (StrictUndefined: a template that names a missing key fails loudly in tests):
    finding      the Finding (code, severity, subject, evidence, impact, system, action)
    ev           finding.evidence (a mapping; use ``ev.get('x')`` for optional keys)
    impact       finding.impact (``impact.invoices``, ``impact.amounts``)
    integration  the integration name
    source, destination   display names of the two systems ("HubSpot", "Xero")
    middleware   display name of the Make scenario's / Zap's system in between, or None
    system       display name of the system the finding is about (or the destination)
    action       the proposed action's label, or None
Output is Slack-flavoured Markdown (mrkdwn): numbered steps, ``*bold*``, backticked values.
Values from providers are escaped with the ``mrkdwn`` filter before they reach Slack.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import jinja2

import templates
from checks.findings import Finding
from common.money import amounts_text
from common.mrkdwn import escape
from providers import display_name

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(templates.__file__).parent


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes: compiling the handful a run renders costs
    ~30 ms, a twentieth of a whole ``sync-doctor check``. Jinja's default directory is private
    to the user (0700, ownership checked); where there is none to be had, templates are
    simply compiled each time."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError) as e:
        logger.debug("no template bytecode cache: %s", e)
        return None


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # mrkdwn, not HTML: values are escaped with the mrkdwn filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["mrkdwn"] = escape
    env.filters["money"] = lambda amounts: amounts_text(amounts, empty="nothing")
    env.filters["system_name"] = lambda s: display_name(str(s))
    return env


def template_name(code: str) -> str:
    return f"remediation/{code}.md.j2"


def render(finding: Finding, *, integration: str, source: str, destination: str, middleware: str | None = None) -> str:
    """The numbered steps for ``finding``; ``source``/``destination``/``middleware`` are system keys."""
    template = environment().get_template(template_name(finding.code))
    system_key = finding.system or destination
    text = template.render(
        finding=finding,
        ev=finding.evidence,
        impact=finding.impact,
        integration=integration,
        source=display_name(source),
        destination=display_name(destination),
        middleware=display_name(middleware) if middleware else None,
        system=display_name(system_key),
        action=finding.action.label if finding.action else None,
    )
    return text.strip()
