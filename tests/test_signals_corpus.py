"""Signals on real prompts from the shared corpora (skipped when the corpora are absent)."""

from __future__ import annotations

import gzip
import itertools
import re
from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from distillwatch.signals import compute

CORPORA = Path("/work/shared/corpora")
pytestmark = pytest.mark.skipif(
    not CORPORA.is_dir(), reason=f"prompt corpora not found at {CORPORA}"
)


def prompts(stem: str, n: int, source: str = "") -> list[str]:
    out = []
    with gzip.open(CORPORA / f"{stem}.jsonl.gz", "rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            if source in rec["source"]:
                out.append(rec["text"])
                if len(out) == n:
                    break
    return out


def signals(texts: list[str]) -> pa.RecordBatch:
    return compute(pa.record_batch([pa.array(texts, pa.string())], names=["last_user"]))


def share(values: list[object], wanted: object) -> float:
    return sum(v == wanted for v in values) / len(values)


@pytest.mark.parametrize(
    ("stem", "capability", "minimum"),
    [
        ("gsm8k", "reasoning", 0.9),
        ("humaneval", "coding", 0.9),
        ("parrot_wmt22_translation_assembled", "translation", 0.9),
        ("advbench", "safety", 0.8),
        ("mmlu", "knowledge", 0.8),
        ("gorilla_bfcl", "tool_use", 0.6),
    ],
)
def test_capability_on_corpus(stem: str, capability: str, minimum: float) -> None:
    caps = signals(prompts(stem, 200)).column("capability").to_pylist()
    assert share(caps, capability) >= minimum, Counter(caps).most_common(4)


def test_cot_on_bbh_cot_prompts_and_not_on_plain_questions() -> None:
    cot = signals(prompts("bbh", 100, "code-davinci-002-cot")).column("cot_elicit").to_pylist()
    assert share(cot, True) >= 0.95
    plain = signals(prompts("gsm8k", 500)).column("cot_elicit").to_pylist()
    assert share(plain, True) <= 0.01


def test_grading_rare_on_ordinary_prompts() -> None:
    texts = prompts("alpaca_eval", 400) + prompts("instructionwild", 400)
    flags = signals(texts).column("grading_request").to_pylist()
    assert share(flags, True) <= 0.02


def test_template_id_groups_t0_renderings() -> None:
    """T0 prompts come from a few hundred templates: ids must repeat far more than text."""
    texts = prompts("self-instruct_t0_templated", 5000)
    ids = signals(texts).column("template_id").to_pylist()
    counts = Counter(ids)
    in_shared = sum(c for c in counts.values() if c >= 2) / len(ids)
    assert in_shared >= 0.5, in_shared
    # and gsm8k word problems (no template) hardly ever share an id
    gsm_ids = Counter(signals(prompts("gsm8k", 2000)).column("template_id").to_pylist())
    assert max(gsm_ids.values()) <= 5


def bigrams(text: str) -> set[tuple[str, str]]:
    words = re.findall(r"\w+", text.lower())
    return set(itertools.pairwise(words))


def test_lsh_bands_rarely_shared_by_unrelated_corpus_prompts() -> None:
    """alpaca_eval holds some real near-duplicates; pairs below Jaccard 0.2 must rarely meet."""
    texts = prompts("alpaca_eval", 800)
    out = signals(texts).to_pylist()
    by_band: dict[tuple[int, int], list[int]] = {}
    for i, r in enumerate(out):
        for b in range(4):
            by_band.setdefault((b, r[f"lsh_{b}"]), []).append(i)
    grams = [bigrams(t) for t in texts]
    unrelated = set()
    for members in by_band.values():
        for i in members:
            for j in members:
                inter = len(grams[i] & grams[j])
                if i < j and inter / max(len(grams[i] | grams[j]), 1) < 0.2:
                    unrelated.add(i)
    # 4 bands x 2 rows: a pair at Jaccard 0.15 still meets with p ~ 0.09 (see sketch.py)
    assert len(unrelated) / len(texts) <= 0.04, len(unrelated)
