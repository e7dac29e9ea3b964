"""The digest's one chart: weekly health per integration (share of checks with nothing failing),
as PNG bytes, with its alt text. matplotlib with the Agg backend (no display is ever needed),
imported only when a chart is drawn."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date

from reports.digest.model import Digest, IntegrationDigest
from reports.digest.periods import Quarter
from reports.digest.text import pct

MAX_LINES = 8  # more lines than this cannot be told apart: the weakest are drawn, the rest named
COLOURS = ("#1b6ca8", "#d1495b", "#00798c", "#edae49", "#66a182", "#8d6a9f", "#2e4057", "#e07a5f")


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    alt: str  # what the chart shows, for screen readers and Slack's alt text


def _average(part: IntegrationDigest) -> float | None:
    return part.health


def _drawn(digest: Digest) -> tuple[list[IntegrationDigest], list[IntegrationDigest]]:
    with_data = [p for p in digest.integrations if any(w.health is not None for w in p.weeks)]
    with_data.sort(key=lambda p: (_average(p) if _average(p) is not None else 1.0, p.name))
    return sorted(with_data[:MAX_LINES], key=lambda p: p.name), with_data[MAX_LINES:]


def alt_text(digest: Digest) -> str:
    drawn, rest = _drawn(digest)
    if not drawn:
        return f"Weekly sync health, {digest.label}: no checks were recorded this quarter, so the chart is empty."
    parts = []
    for p in drawn:
        weeks = [w for w in p.weeks if w.health is not None]
        worst = min(weeks, key=lambda w: (w.health or 0.0, w.start))
        if worst.health == 1.0:
            parts.append(f"{p.name} 100% every week")
            continue
        parts.append(
            f"{p.name} {pct(p.health)} overall, lowest {pct(worst.health)} in the week of {worst.start.day} "
            f"{worst.start.strftime('%b')}"
        )
    more = (
        f"; {len(rest)} more integrations not drawn, each at {pct(min(r.health or 0 for r in rest))} or better"
        if rest
        else ""
    )
    return (
        f"Line chart of weekly sync health (share of checks with nothing failing), {digest.label}, per integration: "
        + "; ".join(parts)
        + more
        + "."
    )


def render_chart(digest: Digest) -> Chart:
    """The chart of ``digest`` (an empty quarter gets a chart that says so)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    fig = Figure(figsize=(10, 5.2), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    drawn, rest = _drawn(digest)
    weeks = _week_starts(digest)
    labels = [f"{d.day} {d.strftime('%b')}" for d in weeks]
    ax.set_title(f"Weekly sync health, {digest.label}", loc="left", fontsize=13, fontweight="bold")
    ax.set_ylabel("checks with nothing failing")
    ax.set_xlabel(f"week starting ({digest.timezone})")
    ax.set_ylim(-0.03, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xticks(range(len(weeks)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, max(len(weeks) - 0.5, 0.5))
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not drawn:
        ax.text(
            0.5,
            0.5,
            "No checks were recorded this quarter",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="#666666",
        )
    for n, part in enumerate(drawn):
        by_start = {w.start: w.health for w in part.weeks}
        values = [by_start.get(start) for start in weeks]
        ys = [v if v is not None else math.nan for v in values]
        ax.plot(
            range(len(weeks)),
            ys,
            marker="o",
            markersize=4,
            linewidth=2,
            color=COLOURS[n % len(COLOURS)],
            label=f"{part.name} ({pct(part.health)})",
        )
    if drawn:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9, title="integration")
    if rest:
        fig.text(
            0.01,
            0.01,
            f"{len(rest)} more integrations not drawn (each at {pct(min(r.health or 0 for r in rest))} or better).",
            fontsize=8,
            color="#666666",
        )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Title": f"Weekly sync health {digest.label}"})
    return Chart(buffer.getvalue(), alt_text(digest))


def _week_starts(digest: Digest) -> list[date]:
    return [start for start, _ in Quarter.of(digest.first_day).weeks()]
