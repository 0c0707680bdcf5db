"""``distillwatch scan LOG... --out DIR``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from distillwatch.commands.reading import (
    FROM_OPTION,
    LOGS_HELP,
    MAPPING_OPTION,
    QUERY_OPTION,
    dialect_option,
)
from distillwatch.commands.scan_state import (
    REBUILD_OPTION,
    REPLACES_OPTION,
    STATE_DIR_OPTION,
    WINDOW_DAYS_OPTION,
    scan_incremental,
)
from distillwatch.console import console, fail, progress_bar
from distillwatch.detect.score import DEFAULT_THRESHOLD
from distillwatch.ingest import IngestError

if TYPE_CHECKING:
    from distillwatch.scan import ScanResult


def command(
    logs: list[str] = typer.Argument(..., help=LOGS_HELP, show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the scan results."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first broken record."),
    from_format: str = FROM_OPTION,
    mapping: Path | None = MAPPING_OPTION,
    query: str | None = QUERY_OPTION,
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0, help=f"Score at which to flag [{DEFAULT_THRESHOLD}]."
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Flag at the threshold of a `distillwatch calibrate` file."
    ),
    known_good: Path | None = typer.Option(
        None, "--known-good", help="Calibrate on these honest account ids (with --target-fpr)."
    ),
    target_fpr: float | None = typer.Option(
        None, "--target-fpr", min=0.0, max=1.0, help="With --known-good: the FPR to calibrate for."
    ),
    html: bool = typer.Option(True, "--html/--no-html", help="Write report.html."),
    rules_only: bool = typer.Option(
        False, "--rules-only", help="Score with the rules alone, without the learned model."
    ),
    keep_work: bool = typer.Option(
        False, "--keep-work", help="Keep DIR/_work/enriched.parquet (every request + signals)."
    ),
    state_dir: Path | None = STATE_DIR_OPTION,
    window_days: int | None = WINDOW_DAYS_OPTION,
    rebuild: bool = REBUILD_OPTION,
    replaces: list[str] = REPLACES_OPTION,
    engine: str = typer.Option(
        "duckdb", "--engine", help="duckdb (one machine) or spark (PySpark; docs/spark.md)."
    ),
    spark_master: str = typer.Option(
        "local[2]", "--spark-master", help="With --engine spark: local[N], spark://HOST:PORT, ..."
    ),
    spark_memory: str = typer.Option(
        "1g", "--spark-driver-memory", help="With --engine spark: the driver's JVM heap."
    ),
) -> None:
    """Score every account and campaign in traffic logs; write accounts, campaigns, a report."""
    from distillwatch.commands.calibrate import calibrate_scan, scan_threshold
    from distillwatch.scan import run_scan
    from distillwatch.scan.spark.session import SparkSetupError

    threshold = scan_threshold(threshold, calibration, known_good, target_fpr)
    incremental = state_dir is not None or window_days is not None or rebuild or bool(replaces)
    if engine == "spark":
        run_scan = _spark_engine(spark_master, spark_memory, incremental, known_good)
    elif engine != "duckdb":
        fail(f"--engine {engine!r}: expected duckdb or spark")
    if incremental:
        scan_incremental(
            logs,
            out,
            state_dir,
            window_days=window_days,
            rebuild=rebuild,
            replaces=replaces,
            threshold=threshold,
            strict=strict,
            learned=not rules_only,
            reading=(from_format, mapping, query),
            known_good=known_good,
        )
        _report(out, html)
        return
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
                keep_work=keep_work or known_good is not None,
                learned=not rules_only,
                dialect=dialect_option(from_format, mapping),
                query=query,
            )
        except (IngestError, SparkSetupError) as exc:
            fail(str(exc))
            return
    if known_good is not None and target_fpr is not None:
        paths = [Path(log) for log in logs]
        result = calibrate_scan(result, paths, known_good, target_fpr, keep_work, not rules_only)
    _report(out, html)
    console.print(
        f"scanned {result.ingest.records:,} requests from {len(result.verdicts):,} accounts "
        f"in {result.seconds:.1f} s: {result.flagged:,} flagged, "
        f"{len(result.campaigns):,} campaigns -> {out}"
    )


def _spark_engine(
    master: str, memory: str, incremental: bool, known_good: Path | None
) -> Callable[..., ScanResult]:
    """``run_scan`` on Spark (the options it does not take yet are refused up front)."""
    if incremental:
        fail("--state-dir/--window-days/--replaces are not supported with --engine spark yet")
    if known_good is not None:
        fail("--known-good is not supported with --engine spark: calibrate the scan's output")
    from distillwatch.scan.spark import run_spark_scan

    return partial(run_spark_scan, master=master, driver_memory=memory)


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
