"""``distillwatch evaluate --scan DIR --labels labels.jsonl`` — a scan against ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from distillwatch.console import console, fail, out
from distillwatch.evaluate.targets import DEFAULT_FPR_TARGET


def command(
    scan: Path = typer.Option(..., "--scan", help="Directory written by `distillwatch scan`."),
    labels: Path = typer.Option(..., "--labels", help="labels.jsonl from `distillwatch simulate`."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write every figure as JSON."),
    fpr_target: float = typer.Option(
        DEFAULT_FPR_TARGET, "--fpr-target", min=0.0, max=1.0, help="Benign FPR target."
    ),
) -> None:
    """FPR, recall, campaigns and the volume baseline of a scan, measured against labels."""
    from distillwatch.evaluate import NoOverlapError, evaluate_scan
    from distillwatch.evaluate.render import render_evaluation
    from distillwatch.report.scandir import ScanFileError

    if not scan.is_dir():
        fail(f"{scan}: not a scan directory")
    try:
        evaluation = evaluate_scan(scan, labels, fpr_target)
    except (ScanFileError, NoOverlapError) as exc:
        fail(str(exc))
        return
    for warning in evaluation.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    render_evaluation(evaluation, out)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(
            orjson.dumps(evaluation.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
        console.print(f"figures: {json_out}")
