"""Radioactivity against neural students: is a small transformer distilled on marked text caught?

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/bench_radioactivity_neural.py \\
        [--quick] [--write]

The bigram-student test (``tests/test_watermark_radioactive.py``) shows the statistics work
when a student copies the mark's per-context bias exactly; this asks what a *neural* student
keeps (``docs/watermark.md``, "Radioactivity against a neural student"). On one CPU thread:
a GPT-2 teacher (``scripts/watermark_lm.py``) trained on human prompt text answers held-out
prompts KGW-marked, Gumbel-marked and unmarked (``WatermarkLogitsProcessor``): the answers a
provider served. Students, GPT-2s pre-trained on other human text (the distiller's base), are
fine-tuned for a few epochs on a fixed-size mix of a share of marked answers and human text;
the *clean twin* on the unmarked answers to the same prompts (the hardest innocent), the
*innocent* on human text only. Each is tested with the project's ``radioactivity``:

* **closed** (text only): sampled, decoded, re-tokenised; prompt tuples excluded, unfiltered
  and filtered on the served answers' windows (``--watermarked``);
* **open** (weights; Sander et al.'s "reading mode"): the served answers are fed to the
  student and its top-1 prediction after each window is scored as a (window, prediction)
  tuple, only where the window is new in its text (see ``read``);
* **green mass** (open, diagnostic): the student's whole next-token distribution there, its
  mass on the mark beyond the null mean, as a z-score (``green_mass``).

The innocent and the clean twin are also tested under ``null_keys`` other keys (KS test).
Default sizes: about 36 CPU-minutes; ``--quick`` is a smoke run of two.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402
import watermark_lm as lm  # noqa: E402
from watermark_experiment import CORPORA, PROMPT_LEN, master, prompts_and_rest, retokenize  # noqa: E402

from distillwatch.watermark import TokenCorpus, load_tokenizer  # noqa: E402
from distillwatch.watermark.detect import KeyScore  # noqa: E402
from distillwatch.watermark.keys import WatermarkKey  # noqa: E402
from distillwatch.watermark.prf import vocab_uniforms, window_fingerprints  # noqa: E402
from distillwatch.watermark.radioactive import radioactivity  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402
from distillwatch.watermark.stats import binomial_randomized  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "watermark-radioactivity-neural.md"


@dataclass(frozen=True)
class Sizes:
    teacher_tokens: int = 1_200_000  # teacher training (tokens seen)
    base_tokens: int = 800_000  # the student's pre-training on other human text
    answers: int = 1_700  # served answers per kind, PROMPT_LEN + answer_new tokens each
    answer_new: int = 200
    finetune: int = 360_000  # tokens in every student's fine-tuning set
    epochs: float = 3.0
    batch: int = 8  # fine-tuning blocks of 128 tokens per step: more updates per CPU-second
    samples: int = 1_500  # closed setting: student samples ...
    sample_new: int = 128  # ... of this many new tokens
    null_keys: int = 200
    width: int = 128  # student size (the teacher is 2 x 128)
    layers: int = 2


QUICK = Sizes(100_000, 60_000, 240, 120, 30_000, 2.0, 8, 160, 64, 40)


@dataclass
class Student:
    name: str
    schemes: tuple[str, ...]  # keys it is tested under
    share: float
    marked_tokens: int  # marked tokens in its fine-tuning set (seen ``epochs`` times)
    model: torch.nn.Module
    text: TokenCorpus | None = None  # closed setting: its samples, re-tokenised


def with_answers(prompts: list[np.ndarray], answers: list[np.ndarray]) -> list[np.ndarray]:
    return [np.concatenate([p, a]) for p, a in zip(prompts, answers, strict=True)]


def finetune(
    base: torch.nn.Module,
    human: torch.Tensor,
    served: list[np.ndarray],
    share: float,
    sz: Sizes,
    seed: int,
    label: str,
) -> tuple[torch.nn.Module, int]:
    """A copy of the base fine-tuned on ``share`` served answers + human text (fixed size)."""
    n = round(share * sz.finetune / (PROMPT_LEN + sz.answer_new))
    if n > len(served):
        raise SystemExit(f"{label}: needs {n} served answers, only {len(served)} were generated")
    marked = lm.blocks(served[:n], 128) if n else human[:0]
    keep = max(0, sz.finetune // 128 - marked.shape[0])
    if keep > human.shape[0]:
        raise SystemExit(f"{label}: needs {keep} blocks of human text, has {human.shape[0]}")
    data = torch.cat([human[:keep], marked])
    model = copy.deepcopy(base)
    lm.train(model, data, int(sz.epochs * data.numel()), seed, sz.batch, lr=1e-3, label=label)
    return model, int(marked.numel())


@torch.no_grad()
def read(
    model: torch.nn.Module,
    texts: list[np.ndarray],
    window: int,
    vocab: int,
    first_only: bool = True,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Open setting: feed ``texts`` (equal lengths) to the model.

    Only a position whose window is new in its text counts: nothing in its context was then
    chosen with that window's list, so an innocent model's prediction is independent of it
    and the exact tests hold (a model that copies what followed an earlier occurrence would
    otherwise copy a token the key chose). Returns, per text, the ``(window, top-1
    prediction)`` rows at those positions; for window 1 also the model's next-token
    distributions there summed per window (``(vocab, vocab)``, for ``green_mass``).
    ``first_only=False`` keeps every position: invalid, for the test that shows it.
    """
    seqs = np.stack(texts).astype(np.int64)
    rows: list[np.ndarray] = []
    mass = np.zeros((vocab, vocab)) if window == 1 else None
    for i in range(0, seqs.shape[0], 32):
        ids = torch.from_numpy(seqs[i : i + 32])
        # output j predicts token window + j, whose window is tokens j .. j + window - 1
        logits = model(input_ids=ids).logits[:, window - 1 : -1].float()
        top = logits.argmax(dim=-1).numpy()
        probs = torch.softmax(logits, dim=-1).numpy() if mass is not None else None
        for b, seq in enumerate(seqs[i : i + 32]):
            wins = np.lib.stride_tricks.sliding_window_view(seq[:-1], window)
            _, first = np.unique(window_fingerprints(wins), return_index=True)
            scored = first if first_only else np.arange(wins.shape[0])
            rows.append(np.column_stack([wins[scored], top[b, scored]]))
            if mass is not None and probs is not None:
                mass[wins[first, 0]] += probs[b, first]  # distinct windows: no repeats
    return rows, mass


def tuple_corpus(rows: list[np.ndarray]) -> TokenCorpus:
    """Each (window, prediction) row as its own short document: exactly one tuple each."""
    flat = np.concatenate(rows) if rows else np.zeros((0, 2), dtype=np.int64)
    width = flat.shape[1]
    return TokenCorpus(
        flat.ravel().astype(np.int64), np.arange(0, flat.size, width, dtype=np.int64)
    )


def green_mass(mass: np.ndarray, key: WatermarkKey) -> tuple[float, float]:
    """The student's mass on the mark beyond its null mean, and its z-score (window 1).

    Per window the green bits (KGW) or ``-log(1-u) - 1`` (Gumbel) of every token are fresh
    under the null and independent of the summed distributions ``Q`` (no position's context
    held a token chosen with that window's list), so ``S = sum Q (score - mean)`` has mean 0
    and variance ``var * sum Q**2`` over independent windows: a normal approximation, fine
    near the centre, rough far in the tail.
    """
    used = np.flatnonzero(mass.sum(axis=1))
    q = mass[used]
    u = vocab_uniforms(used[:, None], key.material, mass.shape[1])
    if key.scheme.name == "kgw":
        gamma = key.scheme.gamma
        score, var = (u < gamma) - gamma, gamma * (1 - gamma)
    else:
        score, var = -np.log1p(-u) - 1.0, 1.0
    total = float((q * score).sum())
    return total / float(q.sum()), total / float(np.sqrt(var * (q**2).sum()))


def randomized(score: KeyScore, scheme: Scheme, rng: np.random.Generator) -> float:
    """An exactly uniform null p-value (KGW's binomial tail is discrete)."""
    if scheme.name != "kgw":
        return score.p_value
    return binomial_randomized(int(score.statistic), score.scored, scheme.gamma, rng.random())


FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def assess(
    st: Student,
    key: WatermarkKey,
    served_seqs: list[np.ndarray],
    prompts: TokenCorpus,
    vocab: int,
    null: list[WatermarkKey],
    seed: int,
) -> dict[str, object]:
    """Closed and open tests of one student under one key (and under ``null`` keys)."""
    assert st.text is not None
    served = TokenCorpus.of(served_seqs)
    rows, mass = read(st.model, served_seqs, key.scheme.window, vocab)
    text_docs = st.text.sequences()
    curve = []
    for f in FRACTIONS:
        t = TokenCorpus.of(text_docs[: max(1, round(f * len(text_docs)))])
        n_read = max(1, round(f * len(rows)))
        plain = radioactivity(t, [key], prompts=prompts).detection.scores[0]
        filt = radioactivity(t, [key], watermarked=served, prompts=prompts).detection.scores[0]
        opened = radioactivity(tuple_corpus(rows[:n_read]), [key]).detection.scores[0]
        curve.append(
            {
                "sampled_tokens": t.tokens,
                "closed_p": plain.p_value,
                "closed_scored": plain.scored,
                "filtered_p": filt.p_value,
                "filtered_scored": filt.scored,
                "read_tokens": int(sum(s.shape[0] for s in served_seqs[:n_read])),
                "open_p": opened.p_value,
                "open_scored": opened.scored,
                "open_green": opened.statistic / max(1, opened.scored),
            }
        )
    row: dict[str, object] = {"student": st.name, "scheme": key.scheme.name, "share": st.share}
    row |= {"marked_tokens": st.marked_tokens, "curve": curve, "final": curve[-1]}
    if mass is not None:
        row["mass_excess"], row["mass_z"] = green_mass(mass, key)
    if null:
        rng = np.random.default_rng(seed)
        closed = radioactivity(st.text, null, watermarked=served, prompts=prompts).detection
        opened = radioactivity(tuple_corpus(rows), null).detection
        row["null"] = {
            "filtered": [randomized(s, key.scheme, rng) for s in closed.scores],
            "open": [randomized(s, key.scheme, rng) for s in opened.scores],
        }
        if mass is not None:
            zs = [green_mass(mass, k)[1] for k in null]
            row["null"]["mass"] = [float(stats.norm.sf(z)) for z in zs]  # type: ignore[index]
    return row


def run(args: argparse.Namespace) -> dict[str, object]:
    sz = QUICK if args.quick else Sizes()
    sz = replace(sz, width=args.width or sz.width, layers=args.layers or sz.layers)
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()

    def say(msg: str) -> None:
        print(
            f"[{time.time() - t0:.0f}s, {(time.process_time() - c0) / 60:.1f} CPU-min] {msg}",
            flush=True,
        )

    tok = load_tokenizer()
    vocab = tok.get_vocab_size()
    splits, prompts = prompts_and_rest(tok, lm.load_texts(CORPORA))
    rng = np.random.default_rng(args.seed)
    rng.shuffle(prompts)  # type: ignore[arg-type]
    p_served, p_sample = prompts[: sz.answers], prompts[sz.answers : sz.answers + sz.samples]
    schemes = {
        "kgw": Scheme("kgw", window=args.window, gamma=args.gamma, delta=args.delta),
        "gumbel": Scheme("gumbel", window=args.window),
    }
    keys = {
        n: master(f"neural-{n}", schemes[n], args.seed).derive("acct-0042") for n in args.schemes
    }
    nulls = {
        n: [master(f"neural-null-{i}", schemes[n], args.seed).derive() for i in range(sz.null_keys)]
        for n in args.schemes
    }

    teacher = lm.gpt2(vocab, 128, 2, 256, args.seed)
    own = lm.blocks(splits[0] + splits[1], 256)
    lm.train(teacher, own, sz.teacher_tokens, args.seed, 16, label="teacher")
    served = {
        n: with_answers(p_served, lm.generate(teacher, p_served, sz.answer_new, k, args.seed + 1))
        for n, k in keys.items()
    }
    clean = with_answers(
        p_served, lm.generate(teacher, p_served, sz.answer_new, None, args.seed + 2)
    )
    say("teacher trained and sampled")

    base = lm.gpt2(vocab, sz.width, sz.layers, 256, args.seed + 10)
    human = lm.blocks(splits[2], 128)
    lm.train(base, human, sz.base_tokens, args.seed + 11, label="base")
    human = human[
        torch.randperm(human.shape[0], generator=torch.Generator().manual_seed(args.seed))
    ]
    say("student base pre-trained")

    top = max(args.shares)
    plan = [("innocent", tuple(keys), 0.0, []), ("clean twin", tuple(keys), top, clean)]
    plan += [(f"{n} {s:.0%}", (n,), s, served[n]) for n in keys for s in args.shares]
    students = []
    for i, (name, tested, share, data) in enumerate(plan):
        model, marked = finetune(base, human, data, share, sz, args.seed + 20 + i, name)
        st = Student(name, tested, share, 0 if name == "clean twin" else marked, model)
        samples = lm.generate(model, p_sample, sz.sample_new, None, args.seed + 40 + i, 256)
        st.text = retokenize(tok, samples)
        students.append(st)
        say(f"student {name} fine-tuned and sampled")

    prompt_corpus = TokenCorpus.of(p_sample)
    rows = []
    for st in students:
        for n in st.schemes:
            null = nulls[n] if st.name in ("innocent", "clean twin") else []
            row = assess(st, keys[n], served[n], prompt_corpus, vocab, null, args.seed)
            rows.append(row)
            say(f"{st.name} under {n}: {row['final']} green mass {row.get('mass_z')}")
    served_green = {}
    for n, k in keys.items():
        s = radioactivity(TokenCorpus.of(served[n]), [k]).detection.scores[0]
        served_green[n] = {"scored": s.scored, "statistic": s.statistic, "p": s.p_value}
    return {
        "sizes": asdict(sz),
        "schemes": {n: schemes[n].to_dict() for n in keys},
        "served": served_green,
        "rows": rows,
        "seconds": time.time() - t0,
        "cpu_seconds": time.process_time() - c0,
    }


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--schemes", nargs="+", choices=("kgw", "gumbel"), default=["kgw", "gumbel"])
    ap.add_argument("--shares", nargs="+", type=float, default=[0.05, 0.1, 0.25, 1.0])
    ap.add_argument("--window", type=int, default=1)
    ap.add_argument("--gamma", type=float, default=0.25)
    ap.add_argument("--delta", type=float, default=2.0)
    ap.add_argument("--width", type=int, default=0, help="student width (default 128)")
    ap.add_argument("--layers", type=int, default=0, help="student layers (default 2)")
    args = ap.parse_args()
    res = run(args)
    command = " ".join(
        [
            "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_radioactivity_neural.py",
            *sys.argv[1:],
        ]
    )
    text = report(res, command)
    print(text)
    if args.write:
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
