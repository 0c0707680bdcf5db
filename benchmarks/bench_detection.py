"""Detection quality on simulator seeds the detector was never trained or tuned on.

    .venv/bin/python benchmarks/bench_detection.py --seeds 23 31 --shifted 47 --write

For each seed: simulate a week (2,000 accounts; the default scenario, or for ``--shifted``
seeds the harder ``scenarios/shifted.toml``), scan it once, then score the
same enriched requests twice -- with the rules and the learned model (the default), and with
the rules alone -- and evaluate both against the simulator's labels. ``--write`` rewrites
``benchmarks/results/detection.md``. Training seeds (``scripts/train_scorer.py``): 11 and 3.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

from distillwatch.evaluate import Evaluation, evaluate_scan
from distillwatch.evaluate.online import OnlineFigures, online_figures
from distillwatch.online.replay import replay_enriched
from distillwatch.scan import detect_enriched, run_scan
from distillwatch.simulate import load_scenario, simulate

RESULTS = Path(__file__).resolve().parent / "results" / "detection.md"
SHIFTED = Path(__file__).resolve().parent / "scenarios" / "shifted.toml"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def evaluate_seed(
    work: Path, seed: int, accounts: int, scenario: Path | None, reuse: bool = False
) -> dict[str, Evaluation]:
    sim = work / f"sim{seed}"
    if not (sim / "labels.jsonl").exists():
        simulate(load_scenario(scenario, seed=seed, accounts=accounts), sim)
    scan = work / f"scan{seed}"
    enriched = scan / "_work" / "enriched.parquet"
    kept = scan / "_work" / "ingest.pickle"
    started = time.perf_counter()
    if reuse and kept.exists():  # detection only, on the requests enriched last time
        ingest = pickle.loads(kept.read_bytes())
        detect_enriched(enriched, scan, [sim], ingest)
    else:
        ingest = run_scan([sim], scan, keep_work=True).ingest
        kept.write_bytes(pickle.dumps(ingest))
    print(f"seed {seed}: {ingest.records:,} requests, scan {time.perf_counter() - started:.0f} s")
    out = {"rules + model": evaluate_scan(scan, sim / "labels.jsonl")}
    rules = work / f"scan{seed}-rules"
    detect_enriched(enriched, rules, [sim], ingest, learned=False)
    out["rules only"] = evaluate_scan(rules, sim / "labels.jsonl")
    started = time.perf_counter()
    replay_enriched(enriched, work / f"replay{seed}")
    print(f"seed {seed}: replayed in {time.perf_counter() - started:.0f} s")
    ONLINE[seed] = online_figures(work / f"replay{seed}", sim / "labels.jsonl")
    return out


#: seed -> online figures of a replay with the built-in policy
ONLINE: dict[int, OnlineFigures] = {}


def online_table() -> list[str]:
    lines = [
        "| seed | median leak per campaign | largest leak (campaign) | benign requests refused |",
        "|---|---:|---:|---:|",
    ]
    for seed, fig in ONLINE.items():
        worst = max(fig.campaigns, key=lambda c: c.share, default=None)
        name = f" ({worst.tactic})" if worst else ""
        lines.append(
            f"| {seed} | {pct(fig.median_leak)} | {pct(fig.max_leak)}{name} | "
            f"{pct(fig.benign_refused_share)} ({fig.benign_refused}/{fig.benign_requests}) |"
        )
    return lines


def table(results: dict[int, dict[str, Evaluation]]) -> list[str]:
    lines = [
        "| seed | scorer | benign FPR | attack recall | precision | ROC-AUC | campaigns "
        "detected | campaign purity | volume baseline recall (same FPR) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seed, runs in results.items():
        for name, ev in runs.items():
            a, c = ev.accounts, ev.campaigns
            base = ev.baseline.rates.recall if ev.baseline.rates else None
            auc = "—" if a.roc_auc is None else f"{a.roc_auc:.3f}"
            lines.append(
                f"| {seed} | {name} | {pct(a.fpr)} ({a.false_positives}/{a.benign}) | "
                f"{pct(a.recall)} | {pct(a.precision)} | {auc} | {c.detected}/{c.total} | "
                f"{pct(c.mean_purity)} | {pct(base)} |"
            )
    return lines


def breakdown(results: dict[int, dict[str, Evaluation]]) -> list[str]:
    lines = ["| seed | scorer | tactic recall | population FPR (non-zero) |", "|---|---|---|---|"]
    for seed, runs in results.items():
        for name, ev in runs.items():
            tactics = ", ".join(f"{t.group} {pct(t.rate)}" for t in ev.tactics)
            pops = ", ".join(f"{p.group} {pct(p.rate)}" for p in ev.populations if p.hits)
            lines.append(f"| {seed} | {name} | {tactics} | {pops or 'none'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[23, 31])
    parser.add_argument(
        "--shifted",
        type=int,
        nargs="*",
        default=[47],
        help=f"seeds simulated with the harder scenario {SHIFTED.name}",
    )
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-detection"))
    parser.add_argument("--write", action="store_true", help=f"rewrite {RESULTS.name}")
    parser.add_argument(
        "--reuse", action="store_true", help="re-run detection on the last run's enriched requests"
    )
    args = parser.parse_args()
    results = {s: evaluate_seed(args.work, s, args.accounts, None, args.reuse) for s in args.seeds}
    for s in args.shifted:
        results[s] = evaluate_seed(args.work, s, args.accounts, SHIFTED, args.reuse)
    body = [*table(results), "", *breakdown(results), "", *online_table()]
    print("\n".join(body))
    if args.write:
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        head = text.split("<!-- figures -->")[0] if text else "# Detection quality\n\n"
        RESULTS.write_text(head + "<!-- figures -->\n" + "\n".join(body) + "\n", "utf-8")


if __name__ == "__main__":
    main()
