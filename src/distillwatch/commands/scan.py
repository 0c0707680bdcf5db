"""``distillwatch scan LOG... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from distillwatch.console import console, fail, progress_bar
from distillwatch.detect.score import DEFAULT_THRESHOLD
from distillwatch.ingest import IngestError


def command(
    logs: list[Path] = typer.Argument(..., help="Traffic log v1 files or directories."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the scan results."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first broken record."),
    threshold: float = typer.Option(
        DEFAULT_THRESHOLD, "--threshold", min=0.0, max=1.0, help="Score at which to flag."
    ),
    html: bool = typer.Option(True, "--html/--no-html", help="Write report.html."),
    rules_only: bool = typer.Option(
        False, "--rules-only", help="Score with the rules alone, without the learned model."
    ),
    keep_work: bool = typer.Option(
        False, "--keep-work", help="Keep DIR/_work/enriched.parquet (every request + signals)."
    ),
) -> None:
    """Score every account and campaign in traffic logs; write accounts, campaigns, a report."""
    from distillwatch.scan import run_scan

    with progress_bar() as bar:
        task = bar.add_task("scanning", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = run_scan(
                logs,
                out,
                strict=strict,
                threshold=threshold,
                on_progress=on_progress,
                keep_work=keep_work,
                learned=not rules_only,
            )
        except IngestError as exc:
            fail(str(exc))
            return
    _report(out, html)
    console.print(
        f"scanned {result.ingest.records:,} requests from {len(result.verdicts):,} accounts "
        f"in {result.seconds:.1f} s: {result.flagged:,} flagged, "
        f"{len(result.campaigns):,} campaigns -> {out}"
    )


def _report(out: Path, html: bool) -> None:
    """The terminal summary and the HTML report, when the report stage is installed."""
    try:
        from distillwatch.report.terminal import print_scan_summary
    except ImportError:
        return
    print_scan_summary(out, console)
    if html:
        from distillwatch.report.html import write_html_report

        path = write_html_report(out)
        console.print(f"report: {path}")
