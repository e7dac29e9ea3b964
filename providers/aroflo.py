"""AroFlo (job management, AU/NZ) through its public API, the "AroFloAPI": the generic feed
source with AroFlo's preset (``config/presets.py``), request signing (``providers.signing``),
status codes and rate-limit headers.

Facts (``/work/notes/middleware_jobapps.md`` section 3.1, from AroFlo's API reference):

- ``https://api.aroflo.com/``, GET with URL variables: ``zone=``, repeated
  ``where=and|field|op|value``, ``join=``, ``page=``, ``pageSize=`` (at most 500); JSON with
  ``Accept: text/json``. Without a ``where`` a zone applies "created in the last 30 days".
- Answers 200 with its status in the body: ``"status": "0"`` is "Login OK"; ``-99999``
  authentication failed (signatures do not match, setup invalid, headers missing, payload
  expired); ``2`` invalid username or password; ``3``/``4``/``20``/``30`` permission denied;
  ``6``/``7``/``429`` rate limits (per minute or second, per day); ``8`` response too large;
  ``888888`` timed out; ``1``/``5`` invalid request.
- Limits: the reference says both 120/min and 3/s, and 60/min and 1/s; the lower pair is used.
  Headers ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Daily-Limit``,
  ``X-RateLimit-Daily-Remaining``.
- Invoices: ``status`` (in progress / pending approval / approved / processed), ``linkprocesseddate``
  blank until the invoice is posted to the accounting system (Integration > Sync data),
  ``lines[]`` with ``ordercode`` (SKU) and ``accountcode`` (the revenue code), ``task.jobnumber``.
  No currency field: the site's currency (the preset says AUD; an NZ site sets NZD).
"""

from __future__ import annotations

import logging

import httpx

from providers.base import Endpoints
from providers.errors import ProviderError, RateLimited, Rejected, ScopeMissing, TokenRevoked, Unavailable
from providers.generic import GenericSource
from providers.http import Limits
from providers.records import RateStatus

logger = logging.getLogger(__name__)

AUTH_FAILED = frozenset({"-99999", "2"})
DENIED = frozenset({"3", "4", "20", "30"})
THROTTLED = frozenset({"6", "7", "429"})


class AroFlo(GenericSource):
    system = "aroflo"
    display_name = "AroFlo"
    default_endpoints = Endpoints(base_url="https://api.aroflo.com")
    default_limits = Limits(concurrent=1, per_minute=60)
    posted_blind_spot = "whether AroFlo posted each invoice (the preset's `posted` mapping was removed)"

    def envelope_error(self, status: str, message: str) -> ProviderError:
        text = message or f"AroFlo status {status}"
        if status in AUTH_FAILED:
            return TokenRevoked(text, system=self.system, code=status)
        if status in DENIED:
            return ScopeMissing(text, system=self.system, code=status)
        if status in THROTTLED:
            return RateLimited(text, limit="day" if status == "7" else "minute", system=self.system, code=status)
        if status == "888888":
            return Unavailable(text, system=self.system, code=status)
        return Rejected(text, system=self.system, code=status)

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        def number(name: str) -> int | None:
            value = response.headers.get(name)
            return int(value) if value is not None and value.lstrip("-").isdigit() else None

        day_remaining, minute_remaining = number("X-RateLimit-Daily-Remaining"), number("X-RateLimit-Remaining")
        if day_remaining is None and minute_remaining is None:
            return None
        return RateStatus(
            day_remaining=day_remaining,
            day_limit=number("X-RateLimit-Daily-Limit"),
            minute_remaining=minute_remaining,
        )
