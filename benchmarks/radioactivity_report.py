"""The neural radioactivity benchmark's report: results, evidence by amount, null check.

Renders ``bench_radioactivity_neural.run``'s result as the Markdown of
``benchmarks/results/watermark-radioactivity-neural.md``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from watermark_experiment import PROMPT_LEN


def _p(p: float) -> str:
    return "< 1e-300" if p <= 0 else f"{p:.1e}"


def report(res: dict, command: str) -> str:  # type: ignore[type-arg]
    sz, rows = res["sizes"], res["rows"]
    lines = [
        "# Radioactivity against neural students",
        "",
        f"Command: `{command}`",
        "",
        f"Teacher: GPT-2 2 x 128, {sz['teacher_tokens']:,} training tokens. Served answers: "
        f"{sz['answers']:,} per scheme, {PROMPT_LEN} prompt + {sz['answer_new']} new tokens, "
        f"schemes {', '.join(f'{n} {s}' for n, s in res['schemes'].items())}. Students: GPT-2 "
        f"{sz['layers']} x {sz['width']}, pre-trained on {sz['base_tokens']:,} tokens of other "
        f"human text, fine-tuned {sz['epochs']:g} epochs on {sz['finetune']:,} tokens (marked "
        f"share, rest human). Closed setting: {sz['samples']:,} samples of {sz['sample_new']} "
        f"new tokens per student. Run: {res['cpu_seconds'] / 60:.1f} CPU-minutes "
        f"({res['seconds'] / 60:.1f} min wall clock, one torch thread, shared machine).",
        "",
        "Served answers themselves: "
        + "; ".join(
            f"{n}: {v['scored']:,} distinct tuples, statistic {v['statistic'] / v['scored']:.3f} "
            f"per tuple, p {_p(v['p'])}"
            for n, v in res["served"].items()
        ),
        "",
        "## Results (p-values of the project's `radioactivity`, one key)",
        "",
        "| student | key | marked tokens in fine-tuning | closed p (tuples) | closed, filtered p "
        "(tuples) | open top-1 p (tuples) | open top-1 score per tuple | green mass excess (z) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f = r["final"]
        mass = f"{r['mass_excess']:+.4f} ({r['mass_z']:+.1f})" if "mass_z" in r else "n/a"
        lines.append(
            f"| {r['student']} | {r['scheme']} | {r['marked_tokens']:,} | {_p(f['closed_p'])} "
            f"({f['closed_scored']:,}) | {_p(f['filtered_p'])} ({f['filtered_scored']:,}) | "
            f"{_p(f['open_p'])} ({f['open_scored']:,}) | {f['open_green']:.4f} | {mass} |"
        )
    lines += [
        "",
        "Score per tuple: the green share (KGW, null mean gamma) or mean `-log(1-u)` (Gumbel, "
        "null mean 1). Green mass excess: the student's probability on green tokens minus "
        "gamma (KGW) or its expected `-log(1-u)` minus 1 (Gumbel), at the open setting's "
        "positions; z by normal approximation.",
        "",
        "## Evidence against the amount of suspect text",
        "",
        "| student | key | tokens sampled | closed, filtered p | marked tokens read "
        "| open top-1 p |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["student"] in ("innocent", "clean twin"):
            continue
        for c in r["curve"]:
            lines.append(
                f"| {r['student']} | {r['scheme']} | {c['sampled_tokens']:,} | "
                f"{_p(c['filtered_p'])} | {c['read_tokens']:,} | {_p(c['open_p'])} |"
            )
    lines += [
        "",
        f"## Null check: innocent suspects under {sz['null_keys']} other keys",
        "",
        "KS test of the p-values against Uniform(0, 1) (KGW: randomised binomial p-values), "
        "and the share below 0.01.",
        "",
        "| student | scheme | test | KS p | share p < 0.01 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        for test, ps in r.get("null", {}).items():
            ks = stats.kstest(np.asarray(ps), "uniform").pvalue
            low = float(np.mean(np.asarray(ps) < 0.01))
            lines.append(f"| {r['student']} | {r['scheme']} | {test} | {ks:.2f} | {low:.1%} |")
    return "\n".join(lines) + "\n"
