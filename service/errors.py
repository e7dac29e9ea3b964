"""Failures the surfaces show to people rather than as tracebacks.

Light on purpose (the command line imports it before anything heavy): :func:`explain` imports
what it needs to recognise an error only when there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.runner import RunResult
    from checks.trace import InvoiceTrace


class RunNotStored(Exception):
    """The checks ran (every API call made) but the run could not be stored. The result is
    here so that the caller can still show it; ``error`` says why it was not stored."""

    def __init__(self, result: RunResult, error: BaseException, trace: InvoiceTrace | None = None) -> None:
        super().__init__(f"the run of {result.integration} was not stored")
        self.result = result
        self.error = error
        self.trace = trace


def explain(error: BaseException, database_url: str) -> str | None:
    """What went wrong and what to do, for the failures an operator causes and can fix: the
    database (unreachable, locked, read-only, its migration state), the credentials' key. None
    for anything else (a bug, to be reported as one)."""
    from store.crypto import SecretKeyError
    from store.db import describe_error
    from store.migrate import DatabaseStateError

    if isinstance(error, RunNotStored):
        return explain(error.error, database_url)
    if isinstance(error, (SecretKeyError, DatabaseStateError)):
        return str(error)
    return describe_error(error, database_url)
