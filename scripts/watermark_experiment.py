"""The watermark experiment: mark a tiny teacher, distil students, detect, calibrate.

    .venv/bin/python scripts/watermark_experiment.py run [--threads 1] [--quick]
    .venv/bin/python scripts/watermark_experiment.py tokenizer   # rebuild the packaged one

``run`` trains a tiny GPT-2 teacher on permissively licensed prompt text from
``../shared/corpora/``, samples it clean, KGW-marked and Gumbel-marked (through the
``transformers`` logits processor), trains tiny students on mixtures of 0/1/5/10/100 %
marked answers (the rest human text), samples the students and runs the radioactivity test
on their text. It writes ``docs/watermark-experiment.{md,png,json}``. CPU only, seeded.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import watermark_lm as lm  # noqa: E402
from watermark_report import write_report  # noqa: E402

from distillwatch.watermark import TokenCorpus, detect, encode, load_tokenizer  # noqa: E402
from distillwatch.watermark.keys import MasterKey, WatermarkKey  # noqa: E402
from distillwatch.watermark.radioactive import radioactivity  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402
from distillwatch.watermark.stats import binomial_randomized  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
DOCS = ROOT / "docs"
TOKENIZER = ROOT / "src" / "distillwatch" / "watermark" / "data" / "tokenizer.json"
PROMPT_LEN = 16
MIXTURES = (0.0, 0.01, 0.05, 0.10, 1.0)


@dataclass(frozen=True)
class Sizes:
    teacher_tokens: int = 1_200_000
    teacher_new: int = 200
    marked: int = 1500
    clean: int = 1000
    gumbel: int = 200
    other_tokens: int = 500_000
    student_tokens: int = 600_000
    student_samples: int = 2000
    student_new: int = 112
    null_keys: int = 1000


QUICK = Sizes(60_000, 200, 200, 100, 40, 50_000, 40_000, 100, 100, 100)


def master(name: str, scheme: Scheme, seed: int) -> MasterKey:
    secret = hashlib.sha256(f"distillwatch-experiment/{name}/{seed}".encode()).digest()
    return MasterKey(f"exp-{name}", secret, scheme, "2026-01-01T00:00:00Z")


def retokenize(tok: object, seqs: list[np.ndarray]) -> TokenCorpus:
    """Decode to text and tokenise again: detection sees text, not the sampler's ids."""
    texts = tok.decode_batch([s.tolist() for s in seqs])  # type: ignore[attr-defined]
    return encode(texts, tok)  # type: ignore[arg-type]


def p_by_length(key: WatermarkKey, corpus: TokenCorpus, lengths: list[int]) -> dict[int, float]:
    """Median p-value over documents when only their first ``n`` tokens are examined."""
    out = {}
    for n in lengths:
        ps = [detect(TokenCorpus.of([s[:n]]), [key]).scores[0].p_value for s in corpus.sequences()]
        out[n] = float(np.median(ps))
    return out


def null_pvalues(corpus: TokenCorpus, scheme: Scheme, keys: int, seed: int) -> dict[str, list]:
    """One fresh random key per clean document: p-values must be (super-)uniform.

    KGW's binomial tail is discrete, so the KS test uses its randomised version, which is
    exactly uniform under the null; the false-positive rates use the reported tail.
    """
    rng = np.random.default_rng(seed)
    plain, randomized = [], []
    for i, seq in enumerate(corpus.sequences()[:keys]):
        key = master(f"null-{i}", scheme, seed).derive()
        s = detect(TokenCorpus.of([seq]), [key]).scores[0]
        plain.append(s.p_value)
        if scheme.name == "kgw":
            randomized.append(
                binomial_randomized(int(s.statistic), s.scored, scheme.gamma, rng.random())
            )
        else:
            randomized.append(s.p_value)
    return {"p": plain, "p_randomized": randomized}


def quality(
    teacher: object, prompts: list[np.ndarray], sizes: Sizes, seed: int, kgw: Scheme
) -> dict[str, dict[str, float]]:
    """Teacher perplexity of its own samples, unmarked and marked, on the same prompts.

    Each prompt gets its own account key, as in serving: a distortion-free scheme is exact
    only on average over keys, and one key reused for every text would measure that key.
    """
    schemes = {"clean": None, "kgw": kgw, "gumbel": Scheme("gumbel", window=kgw.window)}
    out = {}
    for name, scheme in schemes.items():
        keys = None
        if scheme is not None:
            m = master(f"quality-{name}", scheme, seed)
            keys = [m.derive(f"acct-{i}") for i in range(len(prompts))]
        texts = lm.generate(teacher, prompts, sizes.teacher_new, keys, seed + 5)  # type: ignore[arg-type]
        out[name] = lm.perplexity(teacher, prompts, texts)  # type: ignore[arg-type]
    return out


def prompts_and_rest(tok: object, texts: list[str]) -> tuple[dict[int, list[np.ndarray]], list]:
    corpus = encode(texts, tok)  # type: ignore[arg-type]
    splits: dict[int, list[np.ndarray]] = {0: [], 1: [], 2: [], 3: []}
    for text, seq in zip(texts, corpus.sequences(), strict=True):
        splits[lm.split_of(text)].append(seq)
    prompts = [s[:PROMPT_LEN] for s in splits[3] if s.shape[0] >= PROMPT_LEN + 8]
    return splits, prompts


def run(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else Sizes()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    tok = load_tokenizer()
    vocab = tok.get_vocab_size()
    texts = lm.load_texts(CORPORA)
    splits, prompts = prompts_and_rest(tok, texts)
    rng = np.random.default_rng(args.seed)
    rng.shuffle(prompts)  # type: ignore[arg-type]
    kgw_scheme = Scheme("kgw", window=args.window, gamma=args.gamma, delta=args.delta)
    kgw_key = master("kgw", kgw_scheme, args.seed).derive("acct-0042")
    gumbel_key = master("gumbel", Scheme("gumbel", window=args.window), args.seed).derive()
    res: dict[str, object] = {"sizes": sizes.__dict__, "scheme": kgw_scheme.to_dict()}
    print(f"[{time.time() - t0:.0f}s] {len(texts)} texts, {len(prompts)} prompts, vocab {vocab}")

    # 1. teacher
    teacher = lm.gpt2(vocab, 128, 2, 256, args.seed)
    data = lm.blocks(splits[0] + splits[1], 256)
    res["teacher_loss"] = lm.train(
        teacher, data, sizes.teacher_tokens, args.seed, batch=16, label="teacher"
    )
    print(f"[{time.time() - t0:.0f}s] teacher trained")

    # 2. teacher samples: marked (KGW, Gumbel) and clean
    n_mark, n_clean, n_gum = sizes.marked, sizes.clean, sizes.gumbel
    p_mark = prompts[:n_mark]
    p_clean = prompts[n_mark : n_mark + n_clean]
    p_gum = prompts[n_mark + n_clean : n_mark + n_clean + n_gum]
    p_student = prompts[n_mark + n_clean + n_gum :][: sizes.student_samples]
    marked = lm.generate(teacher, p_mark, sizes.teacher_new, kgw_key, args.seed + 1)
    clean = lm.generate(teacher, p_clean, sizes.teacher_new, None, args.seed + 2)
    gum = lm.generate(teacher, p_gum, sizes.teacher_new, gumbel_key, args.seed + 3)
    print(f"[{time.time() - t0:.0f}s] teacher sampled")

    # 3. quality cost, detection vs length, attribution among many accounts, null calibration
    res["perplexity"] = quality(teacher, p_gum, sizes, args.seed, kgw_scheme)
    lengths = [25, 50, 100, 150, 200]
    marked_text = retokenize(tok, marked[:200])
    res["p_by_length"] = {
        "kgw": p_by_length(kgw_key, marked_text, lengths),
        "gumbel": p_by_length(gumbel_key, retokenize(tok, gum[:200]), lengths),
    }
    accounts = [f"acct-{i:04d}" for i in range(1000)]
    candidates = master("kgw", kgw_scheme, args.seed).derive
    keys = [candidates(a) for a in accounts]
    bests = [detect(TokenCorpus.of([s]), keys).best for s in marked_text.sequences()[:100]]
    hits = [b is not None and b.account == "acct-0042" and b.p_adjusted < 1e-6 for b in bests]
    res["attribution"] = {"texts": len(hits), "accounts": len(keys), "correct": int(sum(hits))}
    clean_text = retokenize(tok, clean)
    res["null"] = {
        "kgw": null_pvalues(clean_text, kgw_scheme, sizes.null_keys, args.seed),
        "gumbel": null_pvalues(clean_text, gumbel_key.scheme, sizes.null_keys, args.seed + 1),
    }
    print(f"[{time.time() - t0:.0f}s] detection and calibration done")

    # 4. students on mixtures, sampled, radioactivity test
    other = lm.blocks(splits[2], 128)[: sizes.other_tokens // 128]
    marked_seqs = [np.concatenate([p, m]) for p, m in zip(p_mark, marked, strict=True)]
    prompt_corpus = TokenCorpus.of(p_student)
    radio: dict[str, object] = {}
    for share in MIXTURES:
        n_wm = round(share * other.numel() / (PROMPT_LEN + sizes.teacher_new))
        used = marked_seqs[: min(n_wm, len(marked_seqs))]
        wm_blocks = lm.blocks(used, 128) if used else other[:0]
        keep = max(0, other.shape[0] - wm_blocks.shape[0]) if share < 1 else 0
        data = torch.cat([other[:keep], wm_blocks]) if keep else wm_blocks
        student = lm.gpt2(vocab, 128, 2, 128, args.seed + 10)
        lm.train(student, data, sizes.student_tokens, args.seed + 11, label=f"student {share:.0%}")
        samples = lm.generate(student, p_student, sizes.student_new, None, args.seed + 12, 256)
        text = retokenize(tok, samples)
        known = TokenCorpus.of(used) if used else None
        radio[f"{share:g}"] = radio_curves(text, kgw_key, known, prompt_corpus, wm_blocks)
        print(f"[{time.time() - t0:.0f}s] student {share:.0%}: {radio[f'{share:g}']['final']}")
        if share == 0.0:
            res["radio_null"] = radio_null(text, kgw_scheme, args, marked_seqs, prompt_corpus)
    res["radioactivity"] = radio
    res["seconds"] = time.time() - t0
    res["cpu_seconds"] = time.process_time()
    res["command"] = " ".join(["scripts/watermark_experiment.py", *sys.argv[1:]])
    write_report(res, args.out)
    print(f"[{time.time() - t0:.0f}s] report written to {args.out}")


def radio_curves(
    text: TokenCorpus,
    key: WatermarkKey,
    known: TokenCorpus | None,
    prompts: TokenCorpus,
    wm_blocks: torch.Tensor,
) -> dict[str, object]:
    """p-values of the radioactivity test on growing amounts of the student's text."""
    seqs = text.sequences()
    total = text.tokens
    steps = sorted({int(total * f) for f in (0.05, 0.1, 0.25, 0.5, 1.0)})
    out: dict[str, object] = {"marked_training_tokens": int(wm_blocks.numel()), "curve": []}
    for n in steps:
        count, part = 0, []
        for s in seqs:
            if count >= n:
                break
            part.append(s)
            count += s.shape[0]
        sub = TokenCorpus.of(part)
        plain = radioactivity(sub, [key], prompts=prompts).detection.scores[0]
        filt = (
            radioactivity(sub, [key], watermarked=known, prompts=prompts).detection.scores[0]
            if known is not None
            else plain
        )
        row = {"tokens": count, "p": plain.p_value, "scored": plain.scored}
        row |= {"p_filtered": filt.p_value, "scored_filtered": filt.scored}
        out["curve"].append(row)  # type: ignore[attr-defined]
    out["final"] = out["curve"][-1]  # type: ignore[index]
    return out


def radio_null(
    text: TokenCorpus,
    scheme: Scheme,
    args: argparse.Namespace,
    marked_seqs: list[np.ndarray],
    prompts: TokenCorpus,
) -> dict[str, list[float]]:
    """The 0 % student (never saw marked text) against many keys: p-values should be uniform."""
    keys = [master(f"radio-null-{i}", scheme, args.seed).derive() for i in range(200)]
    known = TokenCorpus.of(marked_seqs[:100])
    plain = radioactivity(text, keys, prompts=prompts).detection.scores
    filt = radioactivity(text, keys, watermarked=known, prompts=prompts).detection.scores
    return {"p": [s.p_value for s in plain], "p_filtered": [s.p_value for s in filt]}


def build_tokenizer(args: argparse.Namespace) -> None:
    from distillwatch.watermark.tokens import train_tokenizer

    tok = train_tokenizer(lm.load_texts(CORPORA), args.vocab)
    TOKENIZER.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(TOKENIZER))
    print(f"wrote {TOKENIZER} ({TOKENIZER.stat().st_size:,} bytes, vocab {tok.get_vocab_size()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the experiment and write docs/watermark-experiment.*")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--window", type=int, default=1)
    r.add_argument("--gamma", type=float, default=0.25)
    r.add_argument("--delta", type=float, default=2.0)
    r.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    r.add_argument("--out", type=Path, default=DOCS, help="where the report goes")
    t = sub.add_parser("tokenizer", help="rebuild the packaged tokenizer from the corpora")
    t.add_argument("--vocab", type=int, default=2048)
    args = ap.parse_args()
    run(args) if args.cmd == "run" else build_tokenizer(args)


if __name__ == "__main__":
    main()
