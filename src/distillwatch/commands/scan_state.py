"""``distillwatch scan LOG... --out DIR --state-dir STATE``: the incremental scan's options.

Kept apart from ``commands/scan.py`` so the full scan's command stays as it was; see
``docs/incremental.md`` and ``scan/incremental.py``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from distillwatch.commands.reading import dialect_option
from distillwatch.console import console, fail, progress_bar
from distillwatch.ingest import IngestError

STATE_DIR_OPTION = typer.Option(
    None,
    "--state-dir",
    help="Keep every log's enriched requests here and read only logs it has not seen "
    "(daily runs); verdicts are those of a full scan of the window.",
)
WINDOW_DAYS_OPTION = typer.Option(
    None,
    "--window-days",
    min=1,
    help="With --state-dir: scan (and keep) the last N UTC days [what the state kept].",
)
REPLACES_OPTION = typer.Option(
    [],
    "--replaces",
    metavar="OLD=NEW",
    help="With --state-dir: log NEW (given, or held) is a corrected re-export of held log OLD: "
    "OLD's requests leave the state for NEW's, and OLD is not read again. Repeatable.",
    show_default=False,
)
REBUILD_OPTION = typer.Option(
    False,
    "--rebuild",
    help="With --state-dir: start the state over, re-reading its logs with this version.",
)


def scan_incremental(
    logs: list[str],
    out: Path,
    state_dir: Path | None,
    *,
    window_days: int | None,
    rebuild: bool,
    replaces: list[str],
    threshold: float,
    strict: bool,
    learned: bool,
    reading: tuple[str, Path | None, str | None],
    known_good: Path | None,
) -> None:
    """Run :func:`~distillwatch.scan.incremental.run_incremental_scan` with a progress bar
    and say what the state did; clear errors for what cannot be done."""
    from distillwatch.scan.incremental import StateError, run_incremental_scan

    if state_dir is None:
        fail("--window-days, --rebuild and --replaces need --state-dir")
        return
    if known_good is not None:
        fail(
            "--known-good with --state-dir: calibrate on a scan first (`distillwatch calibrate "
            "--scan DIR ...`), then pass `--calibration FILE` to the daily runs"
        )
    from_format, mapping, query = reading
    with progress_bar() as bar:
        task = bar.add_task("enriching new logs", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result, run = run_incremental_scan(
                logs,
                out,
                state_dir,
                window_days=window_days,
                rebuild=rebuild,
                replaces=replaces,
                strict=strict,
                threshold=threshold,
                on_progress=on_progress,
                learned=learned,
                dialect=dialect_option(from_format, mapping),
                query=query,
            )
        except (IngestError, StateError) as exc:
            fail(escape(str(exc)))  # it quotes names from the logs and the command line
            return
    # names and commands come from the logs' names: never markup, never wrapped (copyable)
    for warning in run.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    for old, new in run.replaced_by.items():
        said = f"replaced: {old} -> {new} (its requests left the state)"
        console.print(said, markup=False, soft_wrap=True)
    for given, by in run.superseded.items():
        said = f"not read: {given} (its bytes were replaced by {by} with --replaces)"
        console.print(said, markup=False, soft_wrap=True)
    held = len(run.known) + len(run.duplicates)
    window = "empty" if run.window is None else f"{run.window[0]} .. {run.window[1]}"
    console.print(
        f"state {escape(str(state_dir))}: new logs read: {len(run.enriched) + len(run.replaced):,} "
        f"({run.enriched_records:,} requests; re-delivered: {len(run.replaced):,}), "
        f"already held: {held:,}; window {window} (days dropped: {len(run.dropped_days):,})"
    )
    console.print(
        f"scanned {result.ingest.records:,} requests from {len(result.verdicts):,} accounts "
        f"in {result.seconds:.1f} s: {result.flagged:,} flagged, "
        f"{len(result.campaigns):,} campaigns -> {escape(str(out))}"
    )
