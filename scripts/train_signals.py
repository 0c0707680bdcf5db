"""Train the capability model and measure every text signal on a held-back split.

    .venv/bin/python scripts/train_signals.py [--corpora DIR] [--out-model PATH] [--report PATH]

Labels are *weak*: they come from which source file a prompt was taken from (gsm8k ->
reasoning, humaneval -> coding, ...), from cue-word rules for general instruction sets
(creative, summarization, chat), and from judge prompts built here for ``grading``. Test
sources are whole files the model never saw (split by source, not by row), so the figures
measure transfer to a new dataset rather than memorisation; they are still optimistic for
traffic that looks nothing like these corpora.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # signal_labels, signal_probes

from signal_labels import LABEL_NOTES, Row, build_dataset, load_corpora  # noqa: E402
from signal_probes import (  # noqa: E402
    COT_HARD_NEG,
    COT_SUFFIXES,
    JUDGE_TEST,
    JUDGE_TRAIN,
    SENSITIVE_NEG,
    SENSITIVE_POS,
    judge_prompts,
)

from distillwatch.signals import capability as cap  # noqa: E402
from distillwatch.signals.cot import CotSignal  # noqa: E402
from distillwatch.signals.grading import GradingSignal  # noqa: E402
from distillwatch.signals.sensitive import SensitiveRewriteSignal  # noqa: E402
from distillwatch.signals.view import PromptView  # noqa: E402


def view_of(texts: list[str]) -> PromptView:
    return PromptView.of(pa.record_batch([pa.array(texts, pa.string())], names=["last_user"]))


def design_matrix(texts: list[str]) -> sparse.csr_matrix:
    view = view_of(texts)
    feats = cap.features(view)
    vals = feats.scale[feats.rows]
    mat = sparse.csr_matrix(
        (vals, (feats.rows, feats.buckets)), shape=(view.n_unique, cap.N_BUCKETS), dtype=np.float32
    )
    return mat[view.index.to_numpy()]


def prf(y: np.ndarray, p: np.ndarray, label: str) -> tuple[float, float, float, int]:
    tp = int(((p == label) & (y == label)).sum())
    prec = tp / max(int((p == label).sum()), 1)
    rec = tp / max(int((y == label).sum()), 1)
    f1 = 2 * prec * rec / max(prec + rec, 1e-9)
    return prec, rec, f1, int((y == label).sum())


def flag(signal: object, texts: list[str]) -> np.ndarray:
    batch = pa.record_batch([pa.array(texts, pa.string())], names=["last_user"])
    (col,) = signal(batch).values()  # type: ignore[operator]
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)


def detector_rows(name: str, signal: object, pos: list[str], neg: list[str]) -> list[str]:
    tp = int(flag(signal, pos).sum()) if pos else 0
    fp = int(flag(signal, neg).sum()) if neg else 0
    prec = tp / max(tp + fp, 1)
    return [
        f"| {name} | {len(pos)} | {len(neg)} | {tp / max(len(pos), 1):.3f} | "
        f"{fp / max(len(neg), 1):.4f} | {prec:.3f} |"
    ]


def update_section(path: Path, name: str, body: str) -> None:
    """Replace the ``name`` section of a results file, keeping the other sections."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Signals: quality and speed\n"
    block = f"{start}\n{body}\n{end}"
    new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, old, flags=re.S)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new if start in old else f"{old.rstrip()}\n\n{block}\n", encoding="utf-8")


Pair = tuple[str, str]


def labelled(rows: list[Row], rng: random.Random) -> tuple[list[Pair], list[Pair]]:
    """Train and test (text, label) pairs: the corpora's weak labels and built judge prompts."""
    data = build_dataset(rows, rng)
    general = [t for t, lbl, _ in data if lbl in ("chat", "creative", "summarization")]
    data += [(t, "grading", "train") for t in judge_prompts(general, rng, 2000, JUDGE_TRAIN)]
    data += [(t, "grading", "test") for t in judge_prompts(general, rng, 700, JUDGE_TEST)]
    train = [(t, lbl) for t, lbl, s in data if s == "train"]
    test = [(t, lbl) for t, lbl, s in data if s == "test"]
    return train, test


def fit_model(pairs: list[Pair]) -> cap.LinearModel:
    """A class-balanced logistic regression on the capability features, as the shipped model."""
    clf = LogisticRegression(C=4.0, max_iter=400, class_weight="balanced")
    clf.fit(design_matrix([t for t, _ in pairs]), np.array([lbl for _, lbl in pairs]))
    order = [list(clf.classes_).index(c) for c in cap.CAPABILITIES]
    return cap.LinearModel(
        clf.coef_[order].T.astype(np.float32), clf.intercept_[order].astype(np.float32)
    )


def capability_lines(
    model: cap.LinearModel, train: list[Pair], test: list[Pair], model_bytes: int
) -> list[str]:
    """The classifier's report: accuracy, per-class precision/recall/F1, worst confusions."""
    y_te = np.array([lbl for _, lbl in test])
    probs = cap.softmax(model.logits(cap.features(view_of([t for t, _ in test]))))
    view = view_of([t for t, _ in test])
    pred = np.array(cap.CAPABILITIES)[probs.argmax(axis=1)][view.index.to_numpy()]
    lines = [
        "## Capability classifier (held-back source files)",
        "",
        f"Train {len(train)} prompts, test {len(test)} prompts; model "
        f"{model_bytes / 1e6:.2f} MB. Accuracy "
        f"{(pred == y_te).mean():.3f}.",
        "",
        "| class | precision | recall | F1 | test n | train n | label source |",
        "|---|---|---|---|---|---|---|",
    ]
    n_train = Counter(lbl for _, lbl in train)
    for c in cap.CAPABILITIES:
        p, r, f, n = prf(y_te, pred, c)
        lines.append(
            f"| {c} | {p:.3f} | {r:.3f} | {f:.3f} | {n} | {n_train[c]} | {LABEL_NOTES[c]} |"
        )
    confusion = Counter(zip(y_te.tolist(), pred.tolist(), strict=True))
    worst = [f"{a}→{b} ({n})" for (a, b), n in confusion.most_common() if a != b][:8]
    return [*lines, "", "Most frequent confusions (true→predicted): " + ", ".join(worst), ""]


def detector_lines(rows: list[Row], test: list[Pair], rng: random.Random) -> list[str]:
    """The flag detectors' report: recall and false positives on held-back and constructed
    prompts, then each flag's rate over every corpus family."""
    test_q = [t for t, lbl in test if lbl in ("reasoning", "knowledge", "chat")][:1500]
    cot_pos = [f"{q}\n{rng.choice(COT_SUFFIXES)}" for q in test_q[:700]]
    cot_neg = test_q[700:] + COT_HARD_NEG
    judge_neg = [t for t, lbl in test if lbl != "grading"]
    sens_pos = [rng.choice(SENSITIVE_POS).format(q=q[:200]) for q in test_q[:300]]
    sens_neg = [rng.choice(SENSITIVE_NEG).format(q=q[:200]) for q in test_q[300:900]]
    lines = [
        "## Flag detectors (held-back positives / negatives)",
        "",
        "| detector | positives | negatives | recall | false-positive rate | precision |",
        "|---|---|---|---|---|---|",
        *detector_rows("cot_elicit (held-out paraphrases)", CotSignal(), cot_pos, cot_neg),
        *detector_rows(
            "cot_elicit (bbh few-shot CoT prompts)",
            CotSignal(),
            [t for t, s, src in rows if s == "bbh" and "cot" in src][:2000],
            [],
        ),
        *detector_rows(
            "grading_request (held-out judge templates)",
            GradingSignal(),
            [t for t, lbl in test if lbl == "grading"],
            judge_neg,
        ),
        *detector_rows(
            "sensitive_rewrite (constructed)",
            SensitiveRewriteSignal(),
            sens_pos,
            sens_neg + [t for t, _ in test],
        ),
        "",
        "Flag rate over every corpus family (the honest-looking traffic these would see):",
        "",
        "| family file | n | cot_elicit | grading_request | sensitive_rewrite |",
        "|---|---|---|---|---|",
    ]
    by_stem: dict[str, list[str]] = {}
    for text, stem, _ in rows:
        by_stem.setdefault(stem, []).append(text)
    for stem, texts in sorted(by_stem.items()):
        rates = [
            flag(s, texts).mean() for s in (CotSignal(), GradingSignal(), SensitiveRewriteSignal())
        ]
        lines.append(f"| {stem} | {len(texts)} | " + " | ".join(f"{r:.3f}" for r in rates) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    ap.add_argument(
        "--out-model", type=Path, default=ROOT / "src/distillwatch/data" / cap.MODEL_FILE
    )
    ap.add_argument("--report", type=Path, default=ROOT / "benchmarks/results/signals.md")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--final", action="store_true", help="refit on all sources before saving")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.time()
    rows = load_corpora(args.corpora)
    train, test = labelled(rows, rng)
    model = fit_model(train)
    args.out_model.write_bytes(model.to_bytes())
    lines = capability_lines(model, train, test, args.out_model.stat().st_size)
    lines += detector_lines(rows, test, rng)
    lines += [
        "",
        f"Produced by `.venv/bin/python scripts/train_signals.py{' --final' * args.final}` "
        f"(seed {args.seed}, {time.time() - t0:.0f} s).",
        "",
    ]
    if args.final:  # ship a model that has seen every source; the figures above stay honest
        args.out_model.write_bytes(fit_model(train + test).to_bytes())
        lines.insert(
            -2,
            "The shipped model was then refit on train + test sources (`--final`); "
            "the figures above are for the train-only fit.\n",
        )
    update_section(args.report, "quality", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
