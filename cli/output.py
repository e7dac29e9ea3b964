"""Where a command's report goes and how it looks: colour and tables (rich) on a terminal,
plain text when piped or when ``NO_COLOR`` is set; and a progress line on the terminal for work
that takes more than a second.

Imported by every command at start, so rich and the renderers are imported only when something
is printed (``--help`` loads neither).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.runner import RunResult
    from checks.trace import InvoiceTrace
    from service.health import IntegrationHealth

PROGRESS_AFTER_SECONDS = 1.0
CLEAR_LINE = "\r\033[K"


def is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def wants_colour(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """A terminal that did not ask for plain output (https://no-color.org, ``TERM=dumb``)."""
    return is_terminal(stream) and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


class Output:
    """Prints reports: with rich on a colour terminal (``console``), else as plain text."""

    def __init__(self, stream: IO[str], console: Any = None) -> None:
        self.stream = stream
        self.console = console

    @classmethod
    def for_stdout(cls, environ: Mapping[str, str], stream: IO[str] | None = None) -> Output:
        stream = stream or sys.stdout
        if not wants_colour(stream, environ):
            return cls(stream)
        from rich.console import Console

        return cls(stream, Console(file=stream, highlight=False, emoji=False, soft_wrap=False))

    @property
    def rich(self) -> bool:
        return self.console is not None

    def run_report(self, result: RunResult) -> None:
        from cli import render

        if self.console is None:
            print(render.run_report(result), file=self.stream)
        else:
            from cli import terminal

            self.console.print(terminal.run_report(result))

    def trace_report(self, trace: InvoiceTrace) -> None:
        from cli import render

        if self.console is None:
            print(render.trace_report(trace), file=self.stream)
        else:
            from cli import terminal

            self.console.print(terminal.trace_report(trace))

    def health_table(self, rows: Iterable[IntegrationHealth]) -> None:
        from cli import render

        if self.console is None:
            print(render.health_table(rows), file=self.stream)
        else:
            from cli import terminal

            self.console.print(terminal.health_table(rows))

    def line(self, text: str = "") -> None:
        if self.console is not None:
            self.console.print(text, markup=False)
        else:
            print(text, file=self.stream)


@contextmanager
def progress(label: str, stream: IO[str] | None = None, *, after: float = PROGRESS_AFTER_SECONDS) -> Iterator[None]:
    """While the body runs longer than ``after`` seconds, a line on the terminal says what is
    going on and for how long (``Checking acme… 3s``); it is wiped when the body ends. Nothing
    is written to a pipe or a file: the report is the output there."""
    stream = stream or sys.stderr
    if not is_terminal(stream):
        yield
        return
    done = threading.Event()
    shown = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        if done.wait(after):
            return
        while True:
            stream.write(f"{CLEAR_LINE}{label}… {time.monotonic() - started:.0f}s")
            stream.flush()
            shown.set()
            if done.wait(1.0):
                return

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        if shown.is_set():
            stream.write(CLEAR_LINE)
            stream.flush()
