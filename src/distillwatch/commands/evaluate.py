"""``distillwatch evaluate --scan DIR [--replay DIR] --labels labels.jsonl``: detection and
enforcement against ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from distillwatch.console import console, fail, out
from distillwatch.evaluate.targets import DEFAULT_FPR_TARGET


def command(
    scan: Path | None = typer.Option(
        None, "--scan", help="Directory written by `distillwatch scan`."
    ),
    replay: Path | None = typer.Option(
        None, "--replay", help="Directory written by `distillwatch replay` (online figures)."
    ),
    labels: Path = typer.Option(..., "--labels", help="labels.jsonl from `distillwatch simulate`."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write every figure as JSON."),
    fpr_target: float = typer.Option(
        DEFAULT_FPR_TARGET, "--fpr-target", min=0.0, max=1.0, help="Benign FPR target."
    ),
) -> None:
    """FPR, recall, campaigns and the volume baseline of a scan; leaked and refused requests
    of a replay -- measured against labels."""
    from distillwatch.evaluate import NoOverlapError, evaluate_scan
    from distillwatch.evaluate.online import online_figures
    from distillwatch.evaluate.render import render_evaluation
    from distillwatch.report.scandir import ScanFileError

    if scan is None and replay is None:
        fail("give --scan DIR (detection figures), --replay DIR (online figures), or both")
    for path, what in ((scan, "scan"), (replay, "replay")):
        if path is not None and not path.is_dir():
            fail(f"{path}: not a {what} directory")
    try:
        evaluation = evaluate_scan(scan, labels, fpr_target) if scan is not None else None
        online = online_figures(replay, labels) if replay is not None else None
    except (ScanFileError, NoOverlapError) as exc:
        fail(str(exc))
        return
    for warning in evaluation.warnings if evaluation else []:
        console.print(f"[yellow]warning:[/] {warning}")
    render_evaluation(evaluation, out, online)
    if json_out is not None:
        doc = evaluation.to_dict() if evaluation else {}
        if online is not None:
            doc["online"] = {
                "campaigns": [{**vars(c), "share": c.share} for c in online.campaigns],
                "median_leak": online.median_leak,
                "max_leak": online.max_leak,
                "benign_requests": online.benign_requests,
                "benign_refused": online.benign_refused,
                "benign_refused_share": online.benign_refused_share,
                "refused_by_population": online.refused_by_population,
            }
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
        console.print(f"figures: {json_out}")
