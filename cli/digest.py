"""``sync-doctor digest``: a quarter's health digest, written to files, printed, or posted to
``slack.digest_channel`` (once per quarter; a failed post is kept and retried next time)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.base import EXIT_OK, EXIT_USAGE, Command, UsageError

OUT_KINDS = (".md", ".png", ".json")


def out_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in OUT_KINDS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the file's extension says what to write: .md (the report), .png (the chart) or .json "
            "(the numbers)"
        )
    return path


def quarter_text(text: str) -> str:
    from service.digests import BadQuarter, Quarter

    try:
        return str(Quarter.parse(text))
    except BadQuarter as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_digest(args: argparse.Namespace, cmd: Command) -> int:
    from service.digests import Quarter, json_text, last_complete_quarter, make_digest, markdown, run_quarterly_digest

    outs: list[Path] = list(args.out or [])
    kinds = [p.suffix.lower() for p in outs]
    for kind in OUT_KINDS:
        if kinds.count(kind) > 1:
            raise UsageError(f"digest: --out names two {kind} files: give one of each kind at most")
    for path in outs:
        if not path.parent.is_dir():
            raise UsageError(f"digest: cannot write {path}: the folder {path.parent} does not exist")
    services = cmd.services()
    try:
        quarter = Quarter.parse(args.quarter) if args.quarter else None
        if args.post:
            outcome = run_quarterly_digest(services, quarter=quarter, post=True)
            digest, chart = outcome.digest, outcome.chart
        else:
            digest, chart = make_digest(services, quarter or last_complete_quarter(services))
            outcome = None
    finally:
        services.close()
    png = next((p for p in outs if p.suffix.lower() == ".png"), None)
    for path in outs:
        kind = path.suffix.lower()
        if kind == ".png":
            path.write_bytes(chart.png)
        elif kind == ".json":
            path.write_text(json_text(digest), encoding="utf-8")
        else:
            link = _relative(png, path.parent) if png is not None else None
            path.write_text(markdown(digest, chart=link, alt=chart.alt), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    if not outs and not args.post:
        print(markdown(digest), end="")
    if outcome is None:
        return EXIT_OK
    if outcome.posted:
        note = f" ({outcome.error})" if outcome.error else ""
        print(f"posted the digest of {digest.label} to {outcome.channel}{note}")
        return EXIT_OK
    if outcome.already_posted:
        print(f"the digest of {digest.label} was posted already (to {outcome.channel}); not posted again")
        return EXIT_OK
    print(f"error: the digest of {digest.label} was not posted: {outcome.error}", file=sys.stderr)
    return EXIT_USAGE


def _relative(target: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
