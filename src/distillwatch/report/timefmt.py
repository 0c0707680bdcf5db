"""Timestamps of the scan files, shown the way an analyst reads them."""

from __future__ import annotations

from datetime import datetime


def parse_ts(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the scan files, or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def short_ts(value: str | None) -> str:
    when = parse_ts(value)
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


def duration(first: str | None, last: str | None) -> str:
    """A span in words an analyst reads at a glance ("3 d 4 h", "45 min")."""
    a, b = parse_ts(first), parse_ts(last)
    if a is None or b is None:
        return "—"
    minutes = int((b - a).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"
