"""What the window of an incremental scan's state holds (``scan/state.py``).

The window is the ``window_days`` UTC days ending with the latest day delivered
(:meth:`Manifest.last_day`); these functions drop what falls out of it and give detection its
files and the ingest counts a full scan of the window's logs would report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from distillwatch.ingest import IngestSummary
from distillwatch.scan.state import Input, Manifest, first_day, iso


def prune(manifest: Manifest, fresh: list[str]) -> tuple[list[str], list[str]]:
    """Drop the days before the window, and inputs left with nothing in it; the days dropped
    and a warning for each input just read (``fresh``) that kept nothing.

    An input without a valid row (all quarantined, or empty) stays while the day the state
    had reached when it was read is in the window, so the report keeps saying it was broken.
    """
    last = manifest.last_day()
    if manifest.window_days is None or last is None:
        return [], []
    start = first_day(last, manifest.window_days)
    dropped: set[str] = set()
    kept: list[Input] = []
    warnings: list[str] = []
    for entry in manifest.inputs:
        had = entry.parts
        entry.parts = [p for p in had if p.day >= start]
        dropped |= {p.day for p in had if p.day < start}
        if entry.parts or (not had and (entry.delivery_day or last) >= start):
            kept.append(entry)
        elif entry.name in fresh:
            warnings.append(
                f"{entry.name}: every day of it is before the {manifest.window_days}-day "
                f"window (from {start}): not kept"
            )
    manifest.inputs = kept
    # bytes taken out by --replaces need no guard once their days are gone: read again,
    # they would leave at once, with the warning above
    manifest.superseded = [s for s in manifest.superseded if (s.last_day or start) >= start]
    return sorted(dropped), warnings


def span(manifest: Manifest) -> list[str] | None:
    """``[first day, last day]`` of the requests held, or None."""
    days = sorted({p.day for i in manifest.inputs for p in i.parts})
    return [days[0], days[-1]] if days else None


def files(state_dir: Path, manifest: Manifest) -> list[Path]:
    """The window's day files, by day and then in the order the inputs were read."""
    parts = sorted((p.day, n, p.file) for n, i in enumerate(manifest.inputs) for p in i.parts)
    return [state_dir / rel for _, _, rel in parts]


def summary(manifest: Manifest) -> IngestSummary:
    """The ingest counts of the window, as a full scan of its logs would report them."""
    quarantined: dict[str, int] = {}
    fields: dict[str, int] = {}
    passed_over: dict[str, int] = {}
    for entry in manifest.inputs:
        for total, counts in (
            (quarantined, entry.quarantined),
            (fields, entry.quarantined_fields),
            (passed_over, entry.passed_over),
        ):
            for key, n in counts.items():
                total[key] = total.get(key, 0) + n
    parts = [p for i in manifest.inputs for p in i.parts]
    return IngestSummary(
        records=sum(p.rows for p in parts),
        quarantined=dict(sorted(quarantined.items(), key=lambda kv: -kv[1])),
        quarantined_fields=dict(sorted(fields.items(), key=lambda kv: -kv[1])),
        passed_over=passed_over,
        ts_min=iso(min((p.ts_min_us for p in parts), default=None)),
        ts_max=iso(max((p.ts_max_us for p in parts), default=None)),
        files={
            i.name: {
                "lines": i.lines,
                "records": sum(p.rows for p in i.parts),
                "quarantined": sum(i.quarantined.values()),
            }
            for i in manifest.inputs
        },
        bytes_read=sum(i.size for i in manifest.inputs),
    )


def write_quarantine(state_dir: Path, manifest: Manifest, path: Path) -> None:
    """The window's quarantined records, input by input, as ``scan`` writes them."""
    with path.open("wb") as out:
        for entry in manifest.inputs:
            if entry.quarantine:
                with (state_dir / entry.quarantine).open("rb") as src:
                    shutil.copyfileobj(src, out)
