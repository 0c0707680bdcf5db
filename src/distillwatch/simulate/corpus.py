"""Prompt pools for the simulator, built from real corpora.

Prompts are grouped into *pools* by corpus family and source (gsm8k and BBH questions are
``reasoning``, HumanEval ``coding``, MMLU ``knowledge``, BFCL/ToolBench ``tooluse`` ...), so
that each population or tactic draws the kind of text it would really send. The packaged
permissive sample is the default; ``--corpora DIR`` uses the full research corpora.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import orjson

#: (pool, family or None, regex on ``source``). The first matching rule wins; a prompt can
#: also land in ``sentences`` (short single-line text, payload for batch jobs/translation).
_RULES: tuple[tuple[str, str | None, str], ...] = (
    ("cot_shots", "cot", ""),
    ("reasoning", None, r"grade-school-math|BIG-Bench-Hard|zero_shot_cot"),
    ("coding", None, r"human-eval|codealpaca|mbpp"),
    ("knowledge", None, r"MMLU|mmlu|CMMLU"),
    ("tooluse", "tooluse", ""),
    ("translation", "translation", ""),
    ("safety", "safety", ""),
    ("batch", "batch", ""),
    ("organic", "organic", ""),
    ("organic", None, r"FastChat|user_oriented|WizardLM_testset|alpaca_eval"),
    ("instructions", "distill", ""),
    ("instructions", "benchmark", ""),
)

#: Benchmarks an evaluation run can iterate in order (key -> source regex).
BENCHMARKS: dict[str, str] = {
    "gsm8k": r"grade-school-math",
    "mmlu": r"hendrycks",
    "bbh": r"BIG-Bench-Hard:bbh/",
    "humaneval": r"human-eval",
    "mt_bench": r"FastChat",
}

_SENTENCE = re.compile(r"^[^\n]{30,280}$")
_SENTENCE_POOLS = {"organic", "batch", "safety", "instructions"}


@dataclass(frozen=True)
class Corpus:
    """Prompt text by pool and by benchmark; read-only and shared by all accounts."""

    pools: dict[str, tuple[str, ...]]
    benchmarks: dict[str, tuple[str, ...]]
    origin: str

    def pool(self, name: str) -> tuple[str, ...]:
        """The pool ``name``, falling back to ``organic`` when this corpus lacks it."""
        got = self.pools.get(name)
        return got if got else self.pools["organic"]

    def draw(self, rng: np.random.Generator, name: str, n: int) -> list[str]:
        """``n`` prompts drawn uniformly (with replacement) from a pool."""
        items = self.pool(name)
        return [items[i] for i in rng.integers(0, len(items), n)]


@lru_cache(maxsize=4096)
def _pool_of(family: str, source: str) -> str:
    for pool, fam, pattern in _RULES:
        if (fam is None or fam == family) and (not pattern or re.search(pattern, source)):
            return pool
    return "organic"


@lru_cache(maxsize=4096)
def _benchmark_of(family: str, source: str) -> str:
    if family == "cot":
        return ""
    return next((k for k, pat in BENCHMARKS.items() if re.search(pat, source)), "")


def _records(path: Path) -> list[dict[str, str]]:
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl.gz"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl.gz corpora in {path}")
    out: list[dict[str, str]] = []
    for f in files:
        with gzip.open(f, "rb") as fh:
            out.extend(orjson.loads(line) for line in fh if line.strip())
    return out


@lru_cache(maxsize=4)
def load_corpus(path: str = "") -> Corpus:
    """Load the packaged sample (``path == ""``) or a corpora directory; de-duplicated."""
    if path:
        recs = _records(Path(path))
        origin = str(path)
    else:
        ref = resources.files("distillwatch.data").joinpath("corpus_sample.jsonl.gz")
        with resources.as_file(ref) as p:
            recs = _records(p)
        origin = "packaged sample"
    seen: set[str] = set()
    pools: dict[str, list[str]] = {}
    benches: dict[str, list[str]] = {k: [] for k in BENCHMARKS}
    for r in recs:
        text, source, family = r["text"], r.get("source", ""), r.get("family", "")
        if not text or text in seen or len(text) > 6000:
            continue
        seen.add(text)
        pool = _pool_of(family, source)
        pools.setdefault(pool, []).append(text)
        if pool in _SENTENCE_POOLS and _SENTENCE.match(text):
            pools.setdefault("sentences", []).append(text)
        bench = _benchmark_of(family, source)
        if bench:
            benches[bench].append(text)
    if "organic" not in pools:
        raise ValueError(f"corpus {origin} has no organic prompts")
    return Corpus(
        pools={k: tuple(v) for k, v in pools.items()},
        benchmarks={k: tuple(v) for k, v in benches.items() if v},
        origin=origin,
    )
