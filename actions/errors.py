"""Errors of the actions, apart from the modules that raise them: the command line catches them
without importing what connecting needs (httpx, the store)."""

from __future__ import annotations


class ConnectError(ValueError):
    """A connect request that cannot go ahead, phrased for the user."""


class InvalidLink(ConnectError):
    """A connection link or consent state that is not (or no longer) one Sync Doctor honours.

    One message whatever the cause (forged, mistyped, expired, used, for an integration or
    system that does not exist): the answer must not tell a visitor which names exist."""

    def __init__(self) -> None:
        super().__init__(
            "This link is not valid: it may have expired (links last 15 minutes), been used already, or been "
            "copied incompletely. Ask an admin for a new one (`sync-doctor connect NAME SIDE --oauth` issues it)."
        )


class WrongOrganisation(ConnectError):
    """The consent reached another organisation / company / portal than the configured one."""
