"""Detection quality on scenario draws never trained or tuned on, with leave-one-out rows.

    .venv/bin/python benchmarks/bench_detection.py --heldout 0-5 --loo --write

* Draws of ``scenarios/families/heldout.toml`` (other worlds, other mixes, weaker attack
  variants; never used to train, calibrate or tune) are simulated, scanned with the shipped
  calibrated model and with the rules alone, replayed through the online engine with the
  built-in policy, and evaluated against their labels. Figures are pooled over the draws:
  per honest population (share of its accounts flagged) and per tactic (share caught).
* ``--loo``: for every look-alike population and every tactic, the scorer is refitted on the
  train draws and recalibrated on the tune draws *without* it (``scripts/train_calibrated.py``
  draws, reused from ``--work``), then measured on the heldout draws: how the detector does
  on an honest product or a tactic it never saw. (The rules and the evidence gate are fixed
  code; they were written before the heldout family was drawn.)
* ``--write`` rewrites the figures in ``benchmarks/results/detection.md`` and the reliability
  table in ``benchmarks/results/reliability.md``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from distillwatch.detect.calibrated import distinctive_floor
from distillwatch.detect.score import DEFAULT_THRESHOLD
from distillwatch.evaluate import Evaluation, evaluate_scan
from distillwatch.evaluate.draws import Draw, make_draw
from distillwatch.evaluate.online import OnlineFigures, online_figures
from distillwatch.evaluate.training import draw_span, family_frame, fit_scorer, labels
from distillwatch.online.replay import replay_enriched
from distillwatch.scan import run_scan

HERE = Path(__file__).resolve().parent
FAMILIES = HERE / "scenarios" / "families"
RESULTS = HERE / "results" / "detection.md"
RELIABILITY = HERE / "results" / "reliability.md"
LOOKALIKES = (
    "judge", "tutoring", "wrapper_app", "classifier", "sampler", "localisation", "tool_eval",
    "synthetic_data", "cohort", "shared_card", "mobile", "byok_app", "proxied_app", "cloud_egress",
    "release_eval",
)  # fmt: skip
TACTICS = (
    "bulk", "hydra", "reseller_mix", "cot", "grading", "tool_trace", "multilingual", "logprob",
    "slow_low", "pivot",
)  # fmt: skip


def pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


@dataclass(frozen=True)
class DrawRun:
    """One heldout draw's figures: the scan with the model, with the rules, and the replay."""

    model: Evaluation
    rules: Evaluation
    online: OnlineFigures


def run_draw(draw: Draw) -> DrawRun:
    """Scan with the model, evaluate model and rules, replay: one draw's figures."""
    model_dir = draw.scan.parent / "scan-model"
    if not (model_dir / "accounts.jsonl").exists():
        run_scan([draw.sim], model_dir)
    replay_dir = draw.scan.parent / "replay"
    if not (replay_dir / "replay-accounts.jsonl").exists():
        replay_enriched(draw.scan / "_work" / "enriched.parquet", replay_dir)
    labels_file = draw.sim / "labels.jsonl"
    return DrawRun(
        model=evaluate_scan(model_dir, labels_file),
        rules=evaluate_scan(draw.scan, labels_file),
        online=online_figures(replay_dir, labels_file),
    )


def pooled(runs: list[DrawRun], scorer: str, kind: str) -> dict[str, tuple[int, int]]:
    """group -> (hits, accounts) over all draws; kind is 'populations' or 'tactics'."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        for g in getattr(getattr(run, scorer), kind):
            out[g.group][0] += g.hits
            out[g.group][1] += g.accounts
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def headline(runs: list[DrawRun]) -> list[str]:
    lines = [
        "| scorer | honest accounts flagged | attack accounts flagged | campaigns detected | "
        "populations above 1% |",
        "|---|---:|---:|---:|---|",
    ]
    for scorer in ("model", "rules"):
        evs = [r.model if scorer == "model" else r.rules for r in runs]
        fp = sum(e.accounts.false_positives for e in evs)
        benign = sum(e.accounts.benign for e in evs)
        tp = sum(e.accounts.true_positives for e in evs)
        attack = sum(e.accounts.attack for e in evs)
        det = sum(e.campaigns.detected for e in evs)
        tot = sum(e.campaigns.total for e in evs)
        pops = pooled(runs, scorer, "populations")
        high = [f"{g} {pct(h / n)}" for g, (h, n) in pops.items() if n and h / n > 0.01]
        name = "calibrated model + gate" if scorer == "model" else "rules + gate"
        lines.append(
            f"| {name} | {pct(fp / benign if benign else None, 3)} ({fp}/{benign}) | "
            f"{pct(tp / attack if attack else None)} ({tp}/{attack}) | {det}/{tot} | "
            f"{', '.join(high) or 'none'} |"
        )
    return lines


def groups_table(runs: list[DrawRun]) -> list[str]:
    lines = [
        "| group | kind | accounts | flagged (model) | flagged (rules) |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, label in (("populations", "honest"), ("tactics", "attack")):
        model, rules = pooled(runs, "model", kind), pooled(runs, "rules", kind)
        for g, (h, n) in model.items():
            rh = rules.get(g, (0, n))[0]
            lines.append(f"| {g} | {label} | {n} | {pct(h / n if n else None)} | "
                         f"{pct(rh / n if n else None)} |")  # fmt: skip
    return lines


def online_table(runs: list[DrawRun]) -> list[str]:
    leaks = [c for r in runs for c in r.online.campaigns]
    refused = sum(r.online.benign_refused for r in runs)
    requests = sum(r.online.benign_requests for r in runs)
    by_tactic: dict[str, list[float]] = defaultdict(list)
    for c in leaks:
        by_tactic[c.tactic].append(c.share)
    by_population: dict[str, int] = defaultdict(int)
    for r in runs:
        for population, n in r.online.refused_by_population.items():
            by_population[population] += n
    where = ", ".join(f"{p} {n:,}" for p, n in sorted(by_population.items()) if n) or "none"
    lines = [
        f"Honest requests refused: **{pct(refused / requests if requests else None, 4)}** "
        f"({refused:,} of {requests:,}). Share of each campaign's requests answered before "
        f"action: median **{pct(statistics.median(c.share for c in leaks) if leaks else None)}**,"
        f" largest **{pct(max((c.share for c in leaks), default=None))}**. Refused honest "
        f"requests by population: {where}.",
        "",
        "| tactic | campaigns | median answered | largest answered |",
        "|---|---:|---:|---:|",
    ]
    for tactic, shares in sorted(by_tactic.items()):
        lines.append(f"| {tactic} | {len(shares)} | {pct(statistics.median(shares))} | "
                     f"{pct(max(shares))} |")  # fmt: skip
    return lines


def leave_one_out(
    work: Path, heldout: pl.DataFrame, train_draws: str, tune_draws: str
) -> list[str]:
    train = family_frame(FAMILIES, "train", draw_span(train_draws), work)
    tune = family_frame(FAMILIES, "tune", draw_span(tune_draws), work)
    lines = [
        "| left out of training and calibration | kind | heldout accounts | flagged |",
        "|---|---|---:|---:|",
    ]
    for group in (*LOOKALIKES, *TACTICS):
        keep = pl.col("group").fill_null("") != group
        scorer = fit_scorer(train.filter(keep), tune.filter(keep))
        rows = heldout.filter(~keep)
        if rows.height == 0:
            continue
        floor = np.array([distinctive_floor(k) for k in rows["kinds"].to_list()])
        score = np.maximum(scorer(rows), floor)  # as detect.score does
        flagged = (score >= DEFAULT_THRESHOLD) & rows["distinctive"].to_numpy()
        kind = "attack" if labels(rows).any() else "honest"
        lines.append(f"| {group} | {kind} | {rows.height} | {pct(float(flagged.mean()))} |")
    return lines


def reliability(heldout: pl.DataFrame, scores: np.ndarray) -> list[str]:
    y = labels(heldout)
    lines = ["| score bin | accounts | attackers among them |", "|---|---:|---:|"]
    edges = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
    for lo, hi in itertools.pairwise(edges):
        sel = (scores >= lo) & (scores < hi)
        if sel.any():
            lines.append(f"| {lo:.1f}–{min(hi, 1.0):.1f} | {int(sel.sum())} | "
                         f"{pct(float(y[sel].mean()), 1)} |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", default="106-111", help="heldout-family draws")
    parser.add_argument("--train", default="0-9", help="train draws (for --loo)")
    parser.add_argument("--tune", default="0-4", help="tune draws (for --loo)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-draws"))
    parser.add_argument("--loo", action="store_true", help="leave-one-out rows (slow)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    draws = [make_draw(FAMILIES / "heldout.toml", k, args.work) for k in draw_span(args.heldout)]
    runs = []
    for d in draws:
        runs.append(run_draw(d))
        print(f"heldout draw {d.index} done", flush=True)
    body = [
        f"Heldout draws {args.heldout} ({len(draws)} worlds), default settings "
        f"(threshold {DEFAULT_THRESHOLD}):",
        "",
        *headline(runs),
        "",
        *groups_table(runs),
        "",
        "Online (`replay`, built-in policy, calibrated score):",
        "",
        *online_table(runs),
    ]
    frames = pl.concat([d.accounts() for d in draws], how="diagonal_relaxed")
    model_scores = pl.concat(
        [
            pl.read_ndjson(
                d.scan.parent / "scan-model" / "accounts.jsonl", infer_schema_length=None
            ).select("account_id", "score")
            for d in draws
        ]
    )
    scored = frames.join(model_scores, on="account_id")
    rel = reliability(scored, scored["score"].to_numpy())
    if args.loo:
        body += [
            "",
            "Leave-one-out (scan):",
            "",
            *leave_one_out(args.work, frames, args.train, args.tune),
        ]
    print("\n".join(body))
    print("\n".join(rel))
    if args.write:
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        head = text.split("<!-- figures -->")[0] if text else "# Detection quality\n\n"
        RESULTS.write_text(head + "<!-- figures -->\n" + "\n".join(body) + "\n", "utf-8")
        RELIABILITY.write_text(
            "# Reliability of the calibrated score on heldout draws\n\n"
            f"Written by `benchmarks/bench_detection.py --heldout {args.heldout} --write` "
            f"(heldout draws {args.heldout}): among heldout accounts in each score bin, the "
            "share that were attackers (a calibrated score puts about 90% attackers in the "
            "0.9 bin).\n\n" + "\n".join(rel) + "\n",
            "utf-8",
        )


if __name__ == "__main__":
    main()
