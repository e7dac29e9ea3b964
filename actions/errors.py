"""Errors of the actions, apart from the modules that raise them: the command line catches them
without importing what connecting needs (httpx, the store)."""

from __future__ import annotations


class ConnectError(ValueError):
    """A connect request that cannot go ahead, phrased for the user."""
