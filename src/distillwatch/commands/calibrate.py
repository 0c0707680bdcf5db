"""``distillwatch calibrate --scan DIR [--replay DIR] --known-good FILE --target-fpr X``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from distillwatch.calibration import Calibration, CalibrationError, calibrate, write_calibration
from distillwatch.console import console, fail, out
from distillwatch.detect.operating_point import DEFAULT_FLOOR, OperatingPoint, Rate
from distillwatch.enforce.policy import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from distillwatch.scan import ScanResult

KNOWN_GOOD_HELP = (
    "Account ids known to be honest: a text file (one id per line, # comments), "
    "or JSONL / CSV with an account_id field."
)
VERDICTS_HELP = (
    'Analyst feedback JSONL {"account_id": ..., "verdict": "confirmed"|"dismissed"}: '
    "dismissed accounts count as known good, confirmed ones as known bad (recall)."
)


def command(
    scan: Path = typer.Option(..., "--scan", help="Directory written by `distillwatch scan`."),
    known_good: Path | None = typer.Option(None, "--known-good", help=KNOWN_GOOD_HELP),
    target_fpr: float = typer.Option(
        ...,
        "--target-fpr",
        min=0.0,
        max=1.0,
        help="Share of known-good accounts you accept to flag.",
    ),
    out_path: Path = typer.Option(
        Path("calibration.toml"), "--out", "-o", help="Where to write the calibration."
    ),
    verdicts: Path | None = typer.Option(None, "--verdicts", help=VERDICTS_HELP),
    replay: Path | None = typer.Option(
        None,
        "--replay",
        help="Directory written by `distillwatch replay`: also set the "
        "online policy's thresholds from each account's highest online score.",
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="The policy the online thresholds will apply to (default: built-in)."
    ),
    min_threshold: float = typer.Option(
        DEFAULT_FLOOR,
        "--min-threshold",
        min=0.0,
        max=1.0,
        help="Never choose a threshold below this (0: the known-good accounts alone decide).",
    ),
) -> None:
    """Set the thresholds of `scan` (and of the online policy) on your own known-good accounts
    for a target false-positive rate; report the rate they imply with its 95% interval."""
    result = run(scan, target_fpr, known_good, verdicts, replay, policy, min_threshold)
    write_calibration(result, out_path)
    print_calibration(result, out)
    console.print(f"calibration: {out_path}")


def run(
    scan: Path,
    target_fpr: float,
    known_good: Path | None,
    verdicts: Path | None,
    replay: Path | None,
    policy: Path | None,
    min_threshold: float,
) -> Calibration:
    """``calibrate`` with CLI errors (shared with ``scan --known-good``)."""
    if not 0.0 < target_fpr < 1.0:
        fail(f"--target-fpr must be above 0 and below 1, got {target_fpr}")
    try:
        result = calibrate(
            scan,
            target_fpr,
            known_good=known_good,
            verdicts=verdicts,
            replay_dir=replay,
            policy=load_policy(policy),
            min_threshold=min_threshold,
        )
    except (CalibrationError, PolicyError) as exc:
        fail(escape(str(exc)))
        raise  # unreachable: fail() exits
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    return result


def _pct(value: float) -> str:
    return f"{value * 100:.3g}%"


def _rate(rate: Rate) -> str:
    return f"{_pct(rate.value)} ({rate.hits:,}/{rate.total:,})"


def _ci(rate: Rate) -> str:
    return f"{_pct(rate.low)} – {_pct(rate.high)}"


def _row(table: Table, name: str, threshold: str, point: OperatingPoint) -> None:
    recall = point.recall
    table.add_row(
        name,
        threshold,
        _rate(point.fpr),
        _ci(point.fpr),
        f"{point.known_good:,} ({point.flaggable:,} flaggable)",
        _pct(point.min_supported_fpr),
        _rate(recall) if recall else "–",
        _ci(recall) if recall else "–",
    )


def print_calibration(result: Calibration, to: Console) -> None:
    """The operating points as a table, then every warning in words."""
    table = Table(title=f"Operating point for a target FPR of {_pct(result.target_fpr)}")
    for header in (
        "", "threshold", "FPR (known good)", "95% CI", "known good", "lowest provable FPR",
        "recall (known bad)", "95% CI",
    ):  # fmt: skip
        table.add_column(header, justify="left" if not header else "right")
    _row(table, "scan", f"{result.scan.threshold:g}", result.scan)
    if result.online_point is not None:
        online = result.online
        thresholds = " / ".join(f"{online[a]:g}" for a in ("throttle", "challenge", "block"))
        _row(table, "online (throttle / challenge / block)", thresholds, result.online_point)
    to.print(table)
    if result.refused_before is not None and result.online_point is not None:
        to.print(
            f"the replayed policy refused {result.refused_before:,} of "
            f"{result.online_point.known_good:,} known-good accounts at least once"
        )
    for name, point in (("scan", result.scan), ("online", result.online_point)):
        for warning in point.warnings if point else ():
            to.print(f"[yellow]warning ({name}):[/] {escape(warning)}")


def scan_threshold(
    threshold: float | None,
    calibration: Path | None,
    known_good: Path | None,
    target_fpr: float | None,
) -> float:
    """The threshold ``scan`` flags at, from at most one of its three sources: ``--threshold``,
    ``--calibration``, or the default (``--known-good`` recalibrates after the scan)."""
    from distillwatch.calibration import read_calibration
    from distillwatch.detect.score import DEFAULT_THRESHOLD

    if (known_good is None) != (target_fpr is None):
        fail("--known-good and --target-fpr go together: give both or neither")
    given = [
        name
        for name, value in (
            ("--threshold", threshold),
            ("--calibration", calibration),
            ("--known-good", known_good),
        )
        if value is not None
    ]
    if len(given) > 1:
        fail(f"{' and '.join(given)} each set the threshold: give one")
    if calibration is not None:
        try:
            return read_calibration(calibration).scan_threshold
        except CalibrationError as exc:
            fail(escape(str(exc)))
    return DEFAULT_THRESHOLD if threshold is None else threshold


def calibrate_scan(
    result: ScanResult,
    logs: list[Path],
    known_good: Path,
    target_fpr: float,
    keep_work: bool,
    learned: bool,
) -> ScanResult:
    """``scan --known-good --target-fpr``: calibrate on the scan just written, then detect
    again from its enriched requests at the calibrated threshold (campaigns, timeline and
    summary follow the flags) and write ``DIR/calibration.toml``."""
    from distillwatch.detect.score import DEFAULT_THRESHOLD
    from distillwatch.scan import ScanResult, detect_enriched

    scan_dir = result.out_dir
    work = scan_dir / "_work"
    try:
        started = time.perf_counter()
        calibration = run(scan_dir, target_fpr, known_good, None, None, None, DEFAULT_FLOOR)
        write_calibration(calibration, scan_dir / "calibration.toml")
        print_calibration(calibration, out)
        if calibration.scan.threshold != DEFAULT_THRESHOLD:
            verdicts, campaigns = detect_enriched(
                work / "enriched.parquet",
                scan_dir,
                list(logs),
                result.ingest,
                threshold=calibration.scan.threshold,
                learned=learned,
            )
            seconds = result.seconds + time.perf_counter() - started
            result = ScanResult(scan_dir, result.ingest, verdicts, campaigns, seconds)
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    console.print(
        f"calibration: {scan_dir / 'calibration.toml'} (flagged at {calibration.scan.threshold:g})"
    )
    return result


def calibrated_policy(policy: Path | None, calibration: Path) -> Policy:
    """``replay --calibration``: the chosen policy with the file's online thresholds."""
    from distillwatch.calibration import apply_thresholds, read_calibration

    try:
        online = read_calibration(calibration).online
        if not online:
            fail(
                escape(
                    f"{calibration}: no [online] thresholds "
                    "(calibrate with --replay DIR to set them)"
                )
            )
        return apply_thresholds(load_policy(policy), online, str(calibration))
    except (CalibrationError, PolicyError) as exc:
        fail(escape(str(exc)))
        raise  # unreachable: fail() exits
