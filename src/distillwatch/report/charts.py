"""Inline SVG charts for the HTML report, drawn in Python so the report needs no script or CDN.

Every piece of text that reaches the SVG goes through :func:`markupsafe.escape`: campaign and
account ids, capability names and the like come from traffic an attacker controls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from markupsafe import Markup, escape

#: Series of the prevalence chart, bottom to top, with their colours.
SERIES = (
    ("campaigns", "in flagged campaigns", "#c0392b"),
    ("flagged", "flagged accounts outside campaigns", "#e08e0b"),
    ("rest", "all other traffic", "#9fb3c8"),
)
#: Beyond this many hours the charts count per day, to stay small and legible.
MAX_HOURLY_BUCKETS = 24 * 45

WIDTH, LEFT, RIGHT, TOP, AXIS = 1000, 88, 12, 10, 26


@dataclass(frozen=True)
class Axis:
    """Time buckets shared by the prevalence chart and the campaign timeline."""

    start: datetime
    bucket: timedelta
    count: int

    def index(self, when: datetime) -> float:
        return (when - self.start) / self.bucket

    def x(self, position: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * position / max(self.count, 1)

    @property
    def unit(self) -> str:
        return "hour" if self.bucket == timedelta(hours=1) else "day"


def time_axis(timeline: pl.DataFrame) -> Axis | None:
    """Hourly buckets over the timeline's span, or daily ones when the span is long."""
    if timeline.is_empty():
        return None
    first, last = timeline["hour"].min(), timeline["hour"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    hours = int((last - first) / timedelta(hours=1)) + 1
    if hours <= MAX_HOURLY_BUCKETS:
        return Axis(first, timedelta(hours=1), hours)
    day0 = first.replace(hour=0)
    return Axis(day0, timedelta(days=1), (last - day0).days + 1)


def bucket_counts(timeline: pl.DataFrame, axis: Axis, by: pl.Expr) -> dict[str, list[int]]:
    """Requests per time bucket for each value of ``by`` (a string expression), zero-filled."""
    per = int(axis.bucket / timedelta(hours=1))
    keyed = timeline.select(
        ((pl.col("hour") - pl.lit(axis.start)).dt.total_hours() // per).alias("i"),
        by.alias("key"),
        "requests",
    )
    sums = keyed.group_by("key", "i").agg(pl.col("requests").sum())
    out: dict[str, list[int]] = {}
    for key, i, n in sums.iter_rows():
        out.setdefault(key, [0] * axis.count)[i] += int(n)
    return out


def prevalence_counts(timeline: pl.DataFrame, axis: Axis) -> dict[str, list[int]]:
    """Requests per bucket in campaigns, flagged outside campaigns, and the rest."""
    kind = (
        pl.when(pl.col("campaign_id").is_not_null())
        .then(pl.lit("campaigns"))
        .when(pl.col("flagged"))
        .then(pl.lit("flagged"))
        .otherwise(pl.lit("rest"))
    )
    counts = bucket_counts(timeline, axis, kind)
    return {key: counts.get(key, [0] * axis.count) for key, _, _ in SERIES}


def nice_step(top: float, ticks: int = 4) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    raw = max(top, 1.0) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _fmt(n: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:g}{suffix}"
    return f"{n:g}"


def _time_ticks(axis: Axis, height: float) -> list[str]:
    """Vertical grid lines and labels at round times: every day, or every few days/hours."""
    span = axis.bucket * axis.count
    step = next(
        s
        for s in (
            timedelta(hours=3),
            timedelta(hours=6),
            timedelta(hours=12),
            timedelta(days=1),
            timedelta(days=2),
            timedelta(days=7),
            timedelta(days=14),
            timedelta(days=30),
            timedelta(days=3650),
        )
        if span / s <= 10
    )
    when = axis.start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        when = when.replace(hour=0) + (timedelta(days=1) if when.hour else timedelta())
    out = []
    while when <= axis.start + span:
        x = axis.x(axis.index(when))
        if when >= axis.start and x <= WIDTH - RIGHT - 30:
            fmt = "%b %d" if step >= timedelta(days=1) else "%b %d %H:%M"
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height}" class="grid"/>'
                f'<text x="{x:.1f}" y="{height + 16}" class="tick" text-anchor="middle">'
                f"{escape(when.strftime(fmt))}</text>"
            )
        when += step
    return out


def _step_points(axis: Axis, tops: Sequence[float]) -> list[tuple[float, float]]:
    points = []
    for i, y in enumerate(tops):
        points += [(axis.x(i), y), (axis.x(i + 1), y)]
    return points


def _polygon(upper: list[tuple[float, float]], lower: list[tuple[float, float]], fill: str) -> str:
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*upper, *reversed(lower)])
    return f'<polygon points="{pts}" fill="{fill}"/>'


def prevalence_svg(counts: dict[str, list[int]], axis: Axis, height: int = 240) -> Markup:
    """Stacked step-area chart of requests per bucket, one band per :data:`SERIES`."""
    base = height - AXIS
    totals = [sum(v[i] for v in counts.values()) for i in range(axis.count)]
    step = nice_step(max(totals, default=0))
    top = step * math.ceil(max(max(totals, default=0), 1) / step)

    def y(value: float) -> float:
        return base - (base - TOP) * value / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="requests per {axis.unit}, stacked">'
    ]
    tick = 0.0
    while tick <= top:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" class="tick" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
        tick += step
    parts += _time_ticks(axis, base)
    running = [0] * axis.count
    for key, _, colour in SERIES:
        lower = _step_points(axis, [y(v) for v in running])
        running = [a + b for a, b in zip(running, counts[key], strict=True)]
        parts.append(_polygon(_step_points(axis, [y(v) for v in running]), lower, colour))
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" class="axis"/></svg>'
    )
    return Markup("".join(parts))


@dataclass(frozen=True)
class TimelineRow:
    """One campaign on the timeline: its label, its span and its volume per bucket."""

    label: str
    first: datetime | None
    last: datetime | None
    counts: list[int]


def timeline_svg(rows: list[TimelineRow], axis: Axis, row_height: int = 22) -> Markup:
    """One lane per campaign: its active span as a pale bar, its volume as a dark step area."""
    height = TOP + row_height * len(rows) + AXIS
    base = height - AXIS
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        'aria-label="campaign activity over time">'
    ]
    parts += _time_ticks(axis, base)
    for k, row in enumerate(rows):
        y0 = TOP + k * row_height
        mid = y0 + row_height - 3
        parts.append(
            f'<text x="{LEFT - 6}" y="{y0 + row_height / 2 + 4:.1f}" class="tick" '
            f'text-anchor="end">{escape(row.label)}</text>'
        )
        if row.first and row.last:
            x1, x2 = axis.x(axis.index(row.first)), axis.x(axis.index(row.last))
            parts.append(
                f'<rect x="{x1:.1f}" y="{y0 + 3}" width="{max(x2 - x1, 2):.1f}" '
                f'height="{row_height - 6}" rx="3" class="span"/>'
            )
        peak = max(row.counts, default=0)
        if peak:
            scale = (row_height - 6) / peak
            tops = [mid - v * scale for v in row.counts]
            floor = [(x, float(mid)) for x, _ in _step_points(axis, tops)]
            parts.append(_polygon(_step_points(axis, tops), floor, "#c0392b"))
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" class="axis"/></svg>'
    )
    return Markup("".join(parts))


def share_bars_svg(shares: dict[str, float], width: int = 460, row_height: int = 20) -> Markup:
    """Horizontal bars of shares (0..1), largest first, each labelled with its percentage."""
    items = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    label_w, bar_w = 150, width - 150 - 56
    height = row_height * len(items) + 4
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="capability coverage">'
    ]
    for k, (name, share) in enumerate(items):
        y = 2 + k * row_height
        w = max(bar_w * min(max(share, 0.0), 1.0), 1.0)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" class="tick" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_height - 6}" '
            f'rx="2" fill="#2c6e9b"/><text x="{label_w + w + 6:.1f}" y="{y + 14}" '
            f'class="tick">{share:.0%}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
