"""The consent screen an OAuth emulator serves at ``/authorize``: what a person sees when Sync
Doctor sends them to Xero or QuickBooks to connect (or re-connect) an organisation.

``GET /authorize?response_type=code&client_id&redirect_uri&scope&state[&code_challenge...]``
answers an HTML page naming the app and the scopes, with a choice of the organisations the
person can reach (the world's tenants / companies) and Allow / Cancel. The form posts back to
``/authorize``: Allow issues a one-time code bound to the organisation chosen, the scopes, the
redirect URI and the PKCE challenge, and redirects to ``redirect_uri?code=...&state=...`` (plus
``realmId`` where the system names the company in the redirect, as QuickBooks does); Cancel
redirects with ``error=access_denied``. The token endpoint (``Emulator.exchange_code``) takes
that code once, with the same redirect URI and, when a challenge was sent, the verifier.

An unknown client, a missing redirect URI or state: an error page, no redirect (as the real
screens refuse to redirect to an address they cannot trust).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{system}: allow access</title></head>
<body><main>
<h1>{system}</h1>
<p id="ask"><strong>{client}</strong> wants access to your organisation.</p>
<ul id="scopes">{scopes}</ul>
<form method="post" action="{action}">
{hidden}
<label for="organisation">Organisation</label>
<select id="organisation" name="organisation">{options}</select>
<button type="submit" name="decision" value="allow" id="allow">Allow access</button>
<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>
</form>
</main></body></html>"""
ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>Something went wrong</h1><p id="error">{message}</p></body></html>"""
CARRIED = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


@dataclass(frozen=True, slots=True)
class IssuedCode:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    principal: Any
    code_challenge: str | None
    code_challenge_method: str | None


def challenge_of(verifier: str, method: str | None) -> str:
    """RFC 7636: S256 is BASE64URL(SHA256(verifier)) without padding; plain is the verifier."""
    if (method or "plain").upper() == "S256":
        return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier


class ConsentScreen:
    """The screen and the codes it issued (thread-safe; each code works once)."""

    def __init__(
        self,
        system: str,
        clients: Mapping[str, str],
        choices: Callable[[], Sequence[tuple[str, str]]],
        principal: Callable[[str], Any],
        *,
        realm_in_redirect: bool = False,
    ) -> None:
        self.system = system
        self.clients = clients
        self.choices = choices  # (id, name) of each organisation the person can pick
        self.principal = principal  # the grant's principal for the id picked
        self.realm_in_redirect = realm_in_redirect
        self._codes: dict[str, IssuedCode] = {}
        self._lock = threading.Lock()

    async def page(self, request: Request) -> Response:
        query = dict(request.query_params)
        problem = self._problem(query)
        if problem:
            return HTMLResponse(ERROR_PAGE.format(message=html.escape(problem)), status_code=400)
        hidden = "\n".join(
            f'<input type="hidden" name="{k}" value="{html.escape(query[k], quote=True)}">'
            for k in CARRIED
            if k in query
        )
        options = "".join(
            f'<option value="{html.escape(oid, quote=True)}">{html.escape(name)}</option>'
            for oid, name in self.choices()
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in query.get("scope", "").split())
        body = PAGE.format(
            system=html.escape(self.system),
            client=html.escape(query["client_id"]),
            scopes=scopes,
            action=html.escape(request.url.path, quote=True),
            hidden=hidden,
            options=options,
        )
        return HTMLResponse(body)

    async def decide(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        problem = self._problem(form)
        if problem:
            return HTMLResponse(ERROR_PAGE.format(message=html.escape(problem)), status_code=400)
        redirect, state = form["redirect_uri"], form["state"]
        if form.get("decision") != "allow":
            query = {"error": "access_denied", "error_description": "The user cancelled", "state": state}
            return RedirectResponse(f"{redirect}?{urlencode(query)}", status_code=302)
        chosen = form.get("organisation", "")
        if chosen not in {oid for oid, _ in self.choices()}:
            return HTMLResponse(ERROR_PAGE.format(message="Choose an organisation."), status_code=400)
        code = "code-" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = IssuedCode(
                client_id=form["client_id"],
                redirect_uri=redirect,
                scopes=tuple(form.get("scope", "").split()),
                principal=self.principal(chosen),
                code_challenge=form.get("code_challenge") or None,
                code_challenge_method=form.get("code_challenge_method") or None,
            )
        query = {"code": code, "state": state}
        if self.realm_in_redirect:
            query["realmId"] = chosen
        return RedirectResponse(f"{redirect}?{urlencode(query)}", status_code=302)

    def redeem(self, form: Mapping[str, str]) -> IssuedCode | str | None:
        """The code's grant, an error description when it is misused, or None when this screen
        did not issue it. A code is spent by its first use, right or wrong."""
        with self._lock:
            issued = self._codes.pop(form.get("code", ""), None)
        if issued is None:
            return None
        if form.get("redirect_uri") != issued.redirect_uri:
            return "redirect_uri does not match the one the code was issued for"
        if issued.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or challenge_of(verifier, issued.code_challenge_method) != issued.code_challenge:
                return "code_verifier does not match the code_challenge"
        return issued

    def _problem(self, fields: Mapping[str, str]) -> str | None:
        if self.clients and fields.get("client_id") not in self.clients:
            return "Unknown client_id: this app is not registered here."
        if not fields.get("redirect_uri"):
            return "redirect_uri is missing."
        if not fields.get("state"):
            return "state is missing."
        return None
