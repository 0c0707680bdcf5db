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
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))  # its parts, also when loaded by a test

import torch  # noqa: E402
import watermark_lm as lm  # noqa: E402
from radioactivity_assess import assess  # noqa: E402
from radioactivity_report import report  # noqa: E402
from radioactivity_students import QUICK, Sizes, Student, finetune, with_answers  # noqa: E402
from watermark_experiment import CORPORA, master, prompts_and_rest, retokenize  # noqa: E402

from distillwatch.watermark import TokenCorpus, load_tokenizer  # noqa: E402
from distillwatch.watermark.radioactive import radioactivity  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "watermark-radioactivity-neural.md"


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
