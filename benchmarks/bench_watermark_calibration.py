"""Watermark null calibration with one fixed key over many human texts, for many keys.

    .venv/bin/python benchmarks/bench_watermark_calibration.py [--keys 200] [--write]

A calibration that draws a fresh key per text cannot see what matters in practice: a
provider tests *one* key (an account's) against *many* texts, and texts share n-grams
(few-shot prompts, templates, boilerplate). Scored one by one on their own tuples, texts
that share a tuple share its keyed coin, so under one key their p-values are dependent and
false positives cluster under some keys. This script measures that, for each scoring rule
of ``documents.split_pairs``:

* ``keep`` — the old per-text scoring (each text's own distinct tuples);
* ``first`` — every distinct tuple of the set scored once, in the first text holding it
  (the default of ``detect``);
* ``drop`` — only tuples no other text holds.

Texts: ``--per-file`` prompts of at least 40 tokens from every corpus in
``../shared/corpora`` (a fixed seed), cut to 400 tokens, packaged tokenizer. For each key:
per-text p-values (randomised for KGW, so a KS test against the continuous uniform is
fair), the KS p-value, and the counts at or below 1e-3 and 0.01. Across keys: how many
keys KS rejects at 0.01 (1 % expected), the mean, largest and variance/mean ratio of the
per-key counts (about 1 for independent tests, the "overdispersion" otherwise), and how
many keys have more false positives at 1e-3 than Binomial(n, 1e-3) allows at the 0.1 %
level.

It also plants one marked document (200 tokens from a toy word-level model over the
packaged tokenizer, marked with one of 1,000 account keys) among the first 500 texts and
reports whether the per-document test names it, and the radioactivity twin: two
"innocent suspects" (disjoint halves of the texts) scored under the same keys, pooled;
the correlation of their z-scores across keys, scored together and apart (each without
the tuples the other holds).
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import orjson
from scipy import special, stats

from distillwatch.watermark import TokenCorpus, encode
from distillwatch.watermark.detect import score_key, scored_tuples
from distillwatch.watermark.documents import (
    DocTally,
    Shared,
    canonical,
    occurrences,
    score_documents,
    split_pairs,
)
from distillwatch.watermark.keys import MasterKey, WatermarkKey
from distillwatch.watermark.prf import document_hashes
from distillwatch.watermark.radioactive import radioactivity
from distillwatch.watermark.reference import bigram_model, generate
from distillwatch.watermark.scheme import Scheme
from distillwatch.watermark.tokens import load_tokenizer

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
RESULTS = Path(__file__).resolve().parent / "results" / "watermark-calibration.md"
SCHEMES = [Scheme("kgw", window=1), Scheme("kgw", window=2), Scheme("gumbel", window=2)]
RULES: list[Shared] = ["keep", "first", "drop"]


def load(per_file: int, seed: int) -> TokenCorpus:
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    for path in sorted(CORPORA.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            batch = [str(orjson.loads(line)["text"]) for line in fh]
        batch = [t for t in batch if len(t) >= 160]
        picked = rng.permutation(len(batch))[:per_file]
        texts += [batch[i] for i in picked]
    corpus = encode(texts)
    return TokenCorpus.of(s[:400] for s in corpus.sequences() if s.shape[0] >= 40)


def randomised(
    stat: np.ndarray, n: np.ndarray, scheme: Scheme, rng: np.random.Generator
) -> np.ndarray:
    """Exactly uniform p-values under the null (KGW's discrete tail randomised)."""
    if scheme.name == "gumbel":
        return np.asarray(special.gammaincc(np.maximum(n, 1), stat))
    k = np.rint(stat).astype(np.int64)
    g = scheme.gamma
    above = np.where(k < n, special.bdtrc(k, n, g), 0.0)
    at_least = np.where(k > 0, special.bdtrc(np.maximum(k - 1, 0), n, g), 1.0)
    return above + rng.random(k.shape[0]) * (at_least - above)


def calibrate(
    corpus: TokenCorpus, scheme: Scheme, rule: Shared, keys: list[WatermarkKey]
) -> dict[str, float]:
    canon = canonical(document_hashes(corpus.ids, corpus.starts))
    fps, docs, _ = occurrences(corpus, scheme.window, canon)
    _, kept, owner = split_pairs(fps, docs, rule)
    rng = np.random.default_rng(7)
    ks_p, low, one = [], [], []
    for key in keys:
        tally = DocTally(canon, [key])
        tally.add(scheme.window, kept, owner)
        res = tally.result()
        n = res.scored
        ok = n > 0
        p = randomised(res.statistic[ok], n[ok], scheme, rng)
        ks_p.append(stats.kstest(p, "uniform").pvalue)
        low.append(int(np.count_nonzero(p <= 1e-3)))
        one.append(int(np.count_nonzero(p <= 1e-2)))
        texts = int(ok.sum())
    lo = np.asarray(low, dtype=np.float64)
    on = np.asarray(one, dtype=np.float64)
    limit = stats.binom.ppf(1 - 1e-3, texts, 1e-3)
    return {
        "texts": texts,
        "ks_reject": float(np.mean(np.asarray(ks_p) < 0.01)),
        "fpr_1e-3_mean": float(lo.mean() / texts),
        "fpr_1e-3_max": float(lo.max() / texts),
        "over_limit": int(np.count_nonzero(lo > limit)),
        "disp_1e-3": float(lo.var(ddof=1) / max(lo.mean(), 1e-9)),
        "fpr_1e-2_min": float(on.min() / texts),
        "fpr_1e-2_max": float(on.max() / texts),
        "disp_1e-2": float(on.var(ddof=1) / max(on.mean(), 1e-9)),
    }


def suspects(corpus: TokenCorpus, keys: list[WatermarkKey]) -> tuple[float, float]:
    """Correlation across keys of two innocent suspects' z-scores: together, apart."""
    seqs = corpus.sequences()
    order = np.random.default_rng(3).permutation(len(seqs))
    half = len(seqs) // 2
    a = TokenCorpus.of([seqs[i] for i in order[:half]])
    b = TokenCorpus.of([seqs[i] for i in order[half:]])
    fa, _ = scored_tuples(a, keys[0].scheme.window)
    fb, _ = scored_tuples(b, keys[0].scheme.window)
    together = [(score_key(fa, k).z, score_key(fb, k).z) for k in keys]
    apart = [
        (
            radioactivity(a, [k], others=[b]).detection.scores[0].z,
            radioactivity(b, [k], others=[a]).detection.scores[0].z,
        )
        for k in keys[:100]
    ]
    return (
        float(np.corrcoef(np.asarray(together).T)[0, 1]),
        float(np.corrcoef(np.asarray(apart).T)[0, 1]),
    )


def _p(p: float) -> str:
    return "< 1e-300" if p <= 0.0 else f"{p:.1e}"


def planted(corpus: TokenCorpus, scheme: Scheme) -> str:
    """One marked document among 500 human texts, 1,000 account keys: found and named?"""
    vocab = load_tokenizer().get_vocab()
    words = sorted(i for t, i in vocab.items() if t.startswith("Ġ") and t[1:].isalpha())
    master = MasterKey("plant", b"planted".ljust(32, b"#"), scheme, "2026-01-01")
    keys = [master.derive(f"acct-{i}") for i in range(1000)]
    model = bigram_model(2048, seed=5, sharpness=1.0, allowed=words)
    rng = np.random.default_rng(6)
    marked = generate(model, [[words[10], words[20]]], 200, keys[417], rng)[0]
    human = corpus.sequences()[:500]
    result = score_documents(TokenCorpus.of([*human[:250], marked, *human[250:]]), keys)
    best, second = result.ranked(2)
    return (
        f"{scheme.describe()}: document {best.doc} (the marked one is 250), account "
        f"{best.account} (marked with acct-417), corrected p {_p(best.p_adjusted)} over "
        f"{result.family:,} document x key pairs; next best corrected p {second.p_adjusted:.2g}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--per-file", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    corpus = load(args.per_file, args.seed)
    lines = [
        f"Texts: {corpus.documents:,} human prompts ({args.per_file} per corpus file of "
        f"../shared/corpora, >= 40 tokens, cut to 400; {corpus.tokens:,} tokens, packaged "
        f"tokenizer); {args.keys} keys, each tested against every text.",
        "",
        "| scheme | rule | texts | keys KS-rejected at 0.01 | FPR at 1e-3: mean / worst key "
        "| keys over the binomial 0.1 % limit | var/mean of count at 1e-3 "
        "| FPR at 0.01: best / worst key | var/mean at 0.01 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scheme in SCHEMES:
        master = MasterKey(
            "cal", f"cal-{scheme.name}".encode().ljust(32, b"#"), scheme, "2026-01-01"
        )
        keys = [master.derive(f"acct-{i}") for i in range(args.keys)]
        for rule in RULES:
            r = calibrate(corpus, scheme, rule, keys)
            lines.append(
                f"| {scheme.describe()} | {rule} | {int(r['texts']):,} | "
                f"{r['ks_reject']:.1%} | {r['fpr_1e-3_mean']:.4%} / {r['fpr_1e-3_max']:.3%} | "
                f"{int(r['over_limit'])} | {r['disp_1e-3']:.2f} | "
                f"{r['fpr_1e-2_min']:.2%} / {r['fpr_1e-2_max']:.2%} | {r['disp_1e-2']:.2f} |"
            )
            print(lines[-1], flush=True)
    lines += ["", "One marked document planted among 500 of the human texts:", ""]
    lines += [f"- {planted(corpus, scheme)}" for scheme in SCHEMES]
    kgw = MasterKey("cal", b"suspects".ljust(32, b"#"), Scheme("kgw", window=1), "2026-01-01")
    together, apart = suspects(corpus, [kgw.derive(f"s{i}") for i in range(args.keys)])
    lines += [
        "",
        "Two innocent suspects (disjoint random halves of the texts), pooled radioactivity "
        f"z-scores under the same KGW window-1 keys: correlation across keys {together:.2f} "
        f"scored together ({args.keys} keys), {apart:.2f} scored apart (`others=`: each "
        "without the tuples the other holds; 100 keys).",
        "",
        f"Wall time {time.perf_counter() - t0:.0f} s (1-minute load average at the end: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores).",
        "",
        "Command: `.venv/bin/python benchmarks/bench_watermark_calibration.py "
        f"--keys {args.keys} --per-file {args.per_file} --write`",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        RESULTS.write_text(
            "# Watermark null calibration: one key, many texts, many keys\n\n"
            "Done when (issue 16): with one fixed key over >= 2,000 human texts the "
            "false-positive rate at 1e-3 is nominal for every one of >= 40 keys, and KS "
            "rejects at 0.01 for no more than the expected share of keys.\n\n" + text + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
