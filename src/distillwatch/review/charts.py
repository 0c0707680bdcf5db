"""Server-rendered bar charts (SVG geometry computed here, drawn by the templates).

Bars carry a ``<title>``, so hovering shows the hour and counts without any script: pages keep
a strict Content-Security-Policy and work offline.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    return Chart(bars, WIDTH, HEIGHT, points[0][0], points[-1][0], peak)
