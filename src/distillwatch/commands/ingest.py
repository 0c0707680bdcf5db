"""``distillwatch ingest LOG... --out DIR`` — traffic logs to a validated Parquet dataset."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from distillwatch.commands.reading import (
    FROM_OPTION,
    LOGS_HELP,
    MAPPING_OPTION,
    QUERY_OPTION,
    dialect_option,
)
from distillwatch.console import console, fail, out, progress_bar
from distillwatch.ingest import IngestError, IngestSummary, ingest


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def summary_table(summary: IngestSummary) -> Table:
    """The human summary: volume, span, problems, and what was passed over."""
    table = Table(title="ingest summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("records", f"{summary.records:,}")
    table.add_row("accounts", f"{summary.accounts:,}")
    span = f"{summary.ts_min} → {summary.ts_max}" if summary.ts_min else "-"
    table.add_row("time span", span)
    table.add_row("duplicate request_id", f"{summary.duplicate_request_ids:,}")
    table.add_row("quarantined", f"{summary.quarantined_total:,}")
    for key, count in summary.quarantined_fields.items():
        table.add_row("", f"[yellow]{count:,}[/]  {key.replace(':', ' · ')}")
    if summary.passed_over:
        table.add_row("passed over", f"{sum(summary.passed_over.values()):,}")
        for why, count in summary.passed_over.items():
            table.add_row("", f"[dim]{count:,}  {why}[/]")
    table.add_row("files read", f"{len(summary.files):,} ({_mb(summary.bytes_read)})")
    table.add_row("files skipped", f"{len(summary.skipped):,}")
    for path, why in summary.skipped.items():
        table.add_row("", f"[dim]{path}: {why}[/]")
    rate = f"{summary.records_per_second:,.0f} records/s, {summary.seconds:,.2f} s"
    table.add_row("throughput", rate)
    table.add_row("output", str(summary.out_dir))
    return table


def command(
    logs: list[str] = typer.Argument(..., help=LOGS_HELP, show_default=False),
    out_dir: Path = typer.Option(
        ..., "--out", help="Directory for requests/*.parquet, quarantine.jsonl, summary.json."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Stop at the first record that breaks the schema."
    ),
    from_format: str = FROM_OPTION,
    mapping: Path | None = MAPPING_OPTION,
    query: str | None = QUERY_OPTION,
) -> None:
    """Validate and normalise traffic logs into a Parquet dataset; quarantine bad records."""
    try:
        dialect = dialect_option(from_format, mapping)
        with progress_bar() as bar:
            task = bar.add_task("ingest", total=None)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = ingest(
                logs,
                out_dir,
                strict=strict,
                on_progress=on_progress,
                dialect=dialect,
                query=query,
            )
    except IngestError as exc:
        fail(str(exc))
        return
    out.print(summary_table(summary))
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if summary.quarantined_total:
        console.print(
            f"[yellow]{summary.quarantined_total:,} record(s) quarantined[/] → "
            f"{Path(summary.out_dir or out_dir) / 'quarantine.jsonl'}"
        )
