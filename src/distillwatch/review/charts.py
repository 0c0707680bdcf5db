"""Hourly charts: the series for the interactive chart and the SVG bars of its fallback.

The page's own ``static/charts.js`` draws ``series`` with the vendored uPlot (hover values,
drag to zoom, click a legend entry to hide a series), reading it from an escaped ``data-``
attribute: no inline script, so the CSP stays ``script-src 'self'``. The SVG bars (each with a
``<title>``) stay as the ``<noscript>`` fallback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 900, 160


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    first: str
    last: str
    peak: int
    series: dict[str, Any] | None = None


def _epoch(hour: str) -> int | None:
    """Seconds since 1970 of an hour label (``2026-01-01T05:00Z``), None when unreadable."""
    try:
        when = dt.datetime.fromisoformat(hour.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())


def series(points: list[tuple[str, int, int]], labels: tuple[str, str]) -> dict[str, Any] | None:
    """Columns for uPlot: ``x`` (epoch seconds) and one value list per labelled series.

    None (no interactive chart, the SVG stays) if any hour is unreadable or out of order.
    """
    read = [_epoch(h) for h, _, _ in points]
    xs = [x for x in read if x is not None]
    if not xs or len(xs) != len(read) or xs != sorted(xs):
        return None
    columns = [
        {"label": label, "values": [p[i + 1] for p in points]}
        for i, label in enumerate(labels)
        if label
    ]
    return {"x": xs, "series": columns}


def stacked(points: list[tuple[str, int, int]], labels: tuple[str, str]) -> Chart | None:
    """Bars of ``(hour, a, b)`` with ``a`` stacked on ``b`` (e.g. flagged over the rest)."""
    if not points:
        return None
    peak = max(a + b for _, a, b in points) or 1
    step = WIDTH / len(points)
    bars: list[Bar] = []
    for i, (hour, a, b) in enumerate(points):
        hb = HEIGHT * b / peak
        ha = HEIGHT * a / peak
        title = f"{hour}: {a} {labels[0]}, {b} {labels[1]}"
        if b:
            bars.append(Bar(i * step, HEIGHT - hb, max(step - 1, 1), hb, "other", title))
        if a:
            bars.append(Bar(i * step, HEIGHT - hb - ha, max(step - 1, 1), ha, "flagged", title))
    first, last = points[0][0], points[-1][0]
    return Chart(bars, WIDTH, HEIGHT, first, last, peak, series(points, labels))
