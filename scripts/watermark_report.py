"""Tables and plot of the watermark experiment (``scripts/watermark_experiment.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

STEM = "watermark-experiment"


def _p(p: float) -> str:
    return "< 1e-300" if p <= 0 else f"{p:.1e}"


def ks(pvalues: list[float]) -> tuple[float, float]:
    """KS statistic and p-value of the p-values against Uniform(0, 1)."""
    r = stats.kstest(np.asarray(pvalues), "uniform")
    return float(r.statistic), float(r.pvalue)


def tables(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    scheme = res["scheme"]
    lines += [
        f"Scheme: KGW window {scheme['window']}, gamma {scheme['gamma']}, delta "
        f"{scheme['delta']}; Gumbel (exponential-minimum) window {scheme['window']}. "
        f"Run time {res['seconds'] / 60:.1f} min wall clock, "
        f"{res['cpu_seconds'] / 60:.1f} CPU-min (torch on one thread; the machine was shared).",
        "",
        "### Detection on the teacher's marked answers (median p over 200 texts, re-tokenised)",
        "",
        "| tokens examined | KGW | Gumbel |",
        "|---|---|---|",
    ]
    by_len = res["p_by_length"]
    for n in by_len["kgw"]:
        lines.append(f"| {n} | {_p(by_len['kgw'][n])} | {_p(by_len['gumbel'][n])} |")
    att = res["attribution"]
    lines += [
        "",
        f"Attribution: {att['correct']}/{att['texts']} marked texts named the right account "
        f"among {att['accounts']:,} per-account keys with Holm-corrected p < 1e-6.",
        "",
        "### Quality cost: teacher perplexity of its own samples",
        "",
        f"Same {res['sizes']['gumbel']} prompts for each row, one account key per prompt; "
        "95 % interval over texts.",
        "",
        "| sampling | perplexity | 95 % interval |",
        "|---|---|---|",
    ]
    for name, q in res["perplexity"].items():
        lines.append(f"| {name} | {q['ppl']:.1f} | {q['low']:.1f} - {q['high']:.1f} |")
    lines += [
        "",
        "### False positives on clean teacher text (one fresh key per text)",
        "",
        "| scheme | texts | FPR at 1e-2 | FPR at 5e-2 | KS statistic | KS p-value |",
        "|---|---|---|---|---|---|",
    ]
    for name, null in res["null"].items():
        p = np.asarray(null["p"])
        d, kp = ks(null["p_randomized"])
        lines.append(
            f"| {name} | {p.size} | {np.mean(p <= 0.01):.4f} | {np.mean(p <= 0.05):.4f} "
            f"| {d:.4f} | {kp:.3f} |"
        )
    lines += [
        "",
        "KGW's KS test uses the randomised binomial p-value (exactly uniform under the null);",
        "the false-positive rates use the reported, conservative tail.",
        "",
        "### Radioactivity: students trained on mixtures, sampled, tested (closed model)",
        "",
        "| marked share | marked training tokens | student tokens tested | tuples scored "
        "| p | tuples scored (filtered) | p (filtered) |",
        "|---|---|---|---|---|---|---|",
    ]
    for share, r in res["radioactivity"].items():
        f = r["final"]
        lines.append(
            f"| {float(share):.0%} | {r['marked_training_tokens']:,} | {f['tokens']:,} "
            f"| {f['scored']:,} | {_p(f['p'])} | {f['scored_filtered']:,} "
            f"| {_p(f['p_filtered'])} |"
        )
    null = res["radio_null"]
    _, p1 = ks(null["p"])
    _, p2 = ks(null["p_filtered"])
    lines += [
        "",
        f"Null check: the 0 % student's text against {len(null['p'])} other keys — KS p-value "
        f"{p1:.3f} unfiltered, {p2:.3f} filtered (uniform p-values expected).",
    ]
    return lines


def plot(res: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    by_len = res["p_by_length"]
    for name in ("kgw", "gumbel"):
        xs = [int(n) for n in by_len[name]]
        ys = [max(by_len[name][n], 1e-300) for n in by_len[name]]
        ax[0].semilogy(xs, ys, marker="o", label=name)
    ax[0].axhline(1e-6, color="grey", ls=":", label="1e-6")
    ax[0].set(title="teacher output: median p vs tokens", xlabel="tokens examined")
    ax[0].legend()
    for share, r in res["radioactivity"].items():
        xs = [c["tokens"] for c in r["curve"]]
        line = ax[1].semilogy(xs, [max(c["p_filtered"], 1e-300) for c in r["curve"]], marker="o")
        ax[1].semilogy(
            xs, [max(c["p"], 1e-300) for c in r["curve"]], ls="--", color=line[0].get_color()
        )
        line[0].set_label(f"{float(share):.0%} marked")
    ax[1].axhline(1e-3, color="grey", ls=":")
    ax[1].set(title="radioactivity: p vs student tokens (dashed: no filter)", xlabel="tokens")
    ax[1].legend(fontsize=8)
    for name, null in res["null"].items():
        p = np.sort(np.asarray(null["p_randomized"]))
        ax[2].plot(np.arange(1, p.size + 1) / p.size, p, label=f"{name} (clean text)")
    p = np.sort(np.asarray(res["radio_null"]["p_filtered"]))
    ax[2].plot(np.arange(1, p.size + 1) / p.size, p, label="0% student, filtered")
    ax[2].plot([0, 1], [0, 1], color="grey", ls=":")
    ax[2].set(title="null p-values (QQ vs uniform)", xlabel="uniform quantile", ylabel="p")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(res: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{STEM}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    plot(res, out / f"{STEM}.png")
    body = [
        "# Watermark experiment (generated)",
        "",
        f"Made by: `.venv/bin/python {res['command']}` — see `docs/watermark.md` for what",
        "it does and how to read it. Raw figures: `watermark-experiment.json`.",
        "",
        f"![results]({STEM}.png)",
        "",
        *tables(res),
    ]
    (out / f"{STEM}.md").write_text("\n".join(body) + "\n")
