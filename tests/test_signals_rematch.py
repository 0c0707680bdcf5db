"""Signals on a gateway's micro-batch must equal the scan's on the same prompts.

Small batches match their patterns with a compiled RE2 (``signals.rematch``), large ones with
pyarrow's kernels; a template id or a chain-of-thought flag that differed between the two
would make the gateway's state disagree with the scan's.
"""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources

import pyarrow as pa
import pytest

from builders import record
from distillwatch import signals
from distillwatch.ingest.batches import rows_to_batch
from distillwatch.ingest.normalize import flatten
from distillwatch.signals import rematch

EDGES = [
    "```python\nprint('x')\n",  # an unclosed fence ending in a newline ("$" differs in Python)
    "Look at “this” and «that» and 「これ」: 3.14, 2026-12-02, v1.2.3",
    "Name: Ada\nRole: engineer\nSummary: " + "long line " * 40,
    "see https://example.com/a?b=1 or mail ada@example.org (now) [ref] {x}",
    "Explain your reasoning step by step. \u000bVertical tab, ＡＢＣ full width：colon",
    "",
]


def _prompts(n: int) -> list[str]:
    path = resources.files("distillwatch").joinpath("data/corpus_sample.jsonl.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    return random.Random(5).sample(texts, n) + EDGES


def _signals(texts: list[str]) -> list[dict]:
    flat = [flatten(record("a", i, t, float(i))) for i, t in enumerate(texts)]
    batch = rows_to_batch(flat, list(range(len(flat))), "<test>")
    return signals.compute(batch).to_pylist()


def test_small_batches_give_the_scans_signals() -> None:
    texts = _prompts(600)
    whole = _signals(texts)  # one batch: pyarrow's kernels
    step = rematch.SMALL // 3
    pieces = [row for i in range(0, len(texts), step) for row in _signals(texts[i : i + step])]
    assert len(pieces) == len(whole)
    differ = [(t, a, b) for t, a, b in zip(texts, whole, pieces, strict=True) if a != b]
    assert not differ, differ[:2]


@pytest.mark.parametrize("pattern", [r"(?s)```.*?(?:```|$)", r"\d+(?:[.,:/-]\d+)*", r"\bstep\b"])
def test_match_and_replace_agree_on_both_paths(pattern: str) -> None:
    texts = pa.array([*EDGES, None, "step 1: 2.5", "no digits"], pa.string())
    small = rematch.replace(texts, pattern, " _x_ ")
    large = rematch.replace(pa.concat_arrays([texts] * rematch.SMALL), pattern, " _x_ ")
    assert small.to_pylist() == large.to_pylist()[: len(texts)]
    found = rematch.match(texts, pattern)
    assert (
        found.tolist()
        == rematch.match(pa.concat_arrays([texts] * rematch.SMALL), pattern)[: len(texts)].tolist()
    )
