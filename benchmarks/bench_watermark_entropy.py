"""Tokens of marked text needed to reach p < 1e-6, by entropy of the text and by scheme.

    .venv/bin/python benchmarks/bench_watermark_entropy.py [--texts 200] [--write]

A watermark can only hide where the model has a choice: at ~0.8 nats/token, 200 tokens
rarely suffice. Toy bigram models over the packaged tokenizer's 2,048 ids
(``reference.bigram_model``; ``sharpness`` scales their logits) give text of controlled
entropy. For each model and scheme (KGW gamma 0.25 delta 2, Gumbel; window 2, the keyring
default) ``--texts`` marked texts of 600 tokens are generated with the NumPy reference and
scored prefix by prefix (each distinct tuple once, as ``detect`` does). Reported: the mean
Shannon entropy of the model's next-token distribution along the marked texts (nats per
token), the median and 90th-percentile number of tokens until p < 1e-6, and the share of
texts past 1e-6 within 200 tokens. Texts that never get there count as "> 600".

The toy models have about the same entropy at every position; real text mixes
near-certain and open positions, so use the table as an order of magnitude.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from distillwatch.watermark import TokenCorpus
from distillwatch.watermark.documents import p_values, tuple_weights
from distillwatch.watermark.gumbel import log_softmax
from distillwatch.watermark.keys import MasterKey
from distillwatch.watermark.prf import keyed_uniform
from distillwatch.watermark.reference import bigram_model, generate
from distillwatch.watermark.scheme import Scheme
from distillwatch.watermark.spans import counted

RESULTS = Path(__file__).resolve().parent / "results" / "watermark-entropy.md"
V = 2048
LENGTH = 600
SHARPNESS = (1.0, 3.0, 5.0, 8.0, 10.0, 12.0, 16.0)
SCHEMES = (Scheme("kgw", window=2), Scheme("gumbel", window=2))


def needed(corpus: TokenCorpus, scheme: Scheme, material: tuple[int, int]) -> np.ndarray:
    """Per text, the number of tokens until its p-value first drops below 1e-6."""
    pos, fps = counted(corpus, scheme.window, "keep", None)
    order = np.argsort(pos)
    pos, fps = pos[order], fps[order]
    w = tuple_weights(keyed_uniform(fps, material), scheme)
    doc = np.searchsorted(corpus.starts, pos, side="right") - 1
    out = np.full(corpus.documents, LENGTH + 1)
    bounds = np.searchsorted(doc, np.arange(corpus.documents + 1))
    for d in range(corpus.documents):
        a, b = bounds[d], bounds[d + 1]
        stat = np.cumsum(w[a:b])
        p = p_values(stat, np.arange(1, b - a + 1), scheme)
        hit = np.flatnonzero(p < 1e-6)
        if hit.shape[0]:
            out[d] = int(pos[a + hit[0]] - corpus.starts[d]) + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lines = [
        "| model sharpness | entropy (nats/token) | scheme | tokens to p < 1e-6: median "
        "| 90th percentile | texts past 1e-6 within 200 tokens |",
        "|---|---|---|---|---|---|",
    ]
    for sharpness in SHARPNESS:
        model = bigram_model(V, seed=11, sharpness=sharpness)
        table = model([np.array([t]) for t in range(V)])
        entropy_of = -(np.exp(log_softmax(table)) * np.nan_to_num(log_softmax(table))).sum(1)
        for scheme in SCHEMES:
            key = MasterKey("ent", b"entropy".ljust(32, b"#"), scheme, "2026-01-01").derive()
            rng = np.random.default_rng(int(sharpness * 10))
            prompts = rng.integers(0, V, size=(args.texts, 2)).tolist()
            texts = generate(model, prompts, LENGTH, key, rng)
            prev = np.concatenate(
                [np.concatenate([p[-1:], t[:-1]]) for p, t in zip(prompts, texts, strict=True)]
            )
            entropy = float(entropy_of[prev].mean())
            n = needed(TokenCorpus.of(texts), scheme, key.material)
            median = np.median(n)
            p90 = np.percentile(n, 90)
            within = float(np.mean(n <= 200))

            def show(x: float) -> str:
                return f"> {LENGTH}" if x > LENGTH else f"{x:.0f}"

            lines.append(
                f"| {sharpness:g} | {entropy:.2f} | {scheme.name} | {show(median)} | "
                f"{show(p90)} | {within:.0%} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        f"{args.texts} marked texts of {LENGTH} tokens per row, window 2, KGW gamma 0.25 "
        f"delta 2; wall time {time.perf_counter() - t0:.0f} s.",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_watermark_entropy.py --texts {args.texts} "
        "--write`",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        RESULTS.write_text(
            "# Tokens needed per entropy level and scheme\n\n" + text + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
