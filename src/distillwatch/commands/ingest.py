"""``distillwatch ingest LOG... --out DIR`` — traffic logs to a validated Parquet dataset."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from distillwatch.console import console, fail, out, progress_bar
from distillwatch.ingest import IngestError, IngestSummary, ingest
from distillwatch.ingest.formats import DIALECTS, Dialect
from distillwatch.ingest.formats.mapping import NO_MAPPING, load_mapping


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
    logs: list[str] = typer.Argument(
        ...,
        help="Log files (.jsonl/.json/.ndjson, optionally .gz/.zst, or .parquet), directories "
        "holding them, object-store URLs (s3://bucket/prefix/, any fsspec URL) or a "
        "postgresql:// DSN.",
        show_default=False,
    ),
    out_dir: Path = typer.Option(
        ..., "--out", help="Directory for requests/*.parquet, quarantine.jsonl, summary.json."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Stop at the first record that breaks the schema."
    ),
    from_format: str = typer.Option(
        "auto",
        "--from",
        help="Log format: auto (per file, where unambiguous), v1, litellm (SpendLogs), otel "
        "(OTLP JSON GenAI spans), openai-log (request/response JSON Lines). See docs/readers.md.",
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="TOML file naming where a log keeps fields (docs/readers.md)."
    ),
    query: str | None = typer.Option(
        None,
        "--query",
        help="SQL for postgresql:// inputs (default for litellm: the whole SpendLogs table).",
    ),
) -> None:
    """Validate and normalise traffic logs into a Parquet dataset; quarantine bad records."""
    try:
        dialect = _dialect(from_format, mapping)
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


def _dialect(name: str, mapping: Path | None) -> Dialect | None:
    """The ``--from`` choice as a dialect (None: detect per file), with its mapping file."""
    if name not in DIALECTS:
        raise IngestError(f"--from {name!r}: expected one of {', '.join(DIALECTS)}")
    fields = NO_MAPPING if mapping is None else load_mapping(mapping)
    if name == "auto":
        if fields.fields:
            raise IngestError("--mapping needs --from: a mapping is written for one format")
        return None
    return Dialect(name, fields)
