"""Per-document and windowed detection, shared n-grams, and the streaming driver.

Toy bigram models stand in for a language model (``reference.bigram_model``); every random
choice is seeded, so the statistical assertions are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from distillwatch.watermark import TokenCorpus, detect
from distillwatch.watermark.documents import Shared, score_documents
from distillwatch.watermark.keys import MasterKey, WatermarkKey
from distillwatch.watermark.prf import I64
from distillwatch.watermark.reference import bigram_model, generate
from distillwatch.watermark.scheme import Scheme
from distillwatch.watermark.spans import scan_spans
from distillwatch.watermark.stream import TokenPiece, detect_stream

V = 400
KGW = Scheme("kgw", window=2, gamma=0.25, delta=2.0)
GUMBEL = Scheme("gumbel", window=2)


def account_keys(scheme: Scheme, n: int, ring: str = "docs") -> list[WatermarkKey]:
    master = MasterKey(ring, ring.encode().ljust(32, b"."), scheme, "2026-01-01")
    return [master.derive(f"acct-{i}") for i in range(n)]


def human(n: int, length: int, seed: int) -> list[I64]:
    """Unmarked text of the same model that marks: the hardest null."""
    rng = np.random.default_rng(seed)
    return generate(
        bigram_model(V, seed=1, sharpness=1.5),
        rng.integers(0, V, (n, 2)).tolist(),
        length,
        None,
        rng,
    )


def marked(key: WatermarkKey, n: int, length: int, seed: int, start: int = 3) -> list[I64]:
    rng = np.random.default_rng(seed)
    prompts = [[start + i, start + 2 * i] for i in range(n)]
    return generate(bigram_model(V, seed=1, sharpness=1.5), prompts, length, key, rng)


@pytest.fixture(scope="module")
def clean() -> list[I64]:
    return human(500, 200, seed=2)


@pytest.mark.parametrize("scheme", [KGW, GUMBEL], ids=["kgw", "gumbel"])
def test_one_marked_document_among_500_is_found_and_named(clean: list[I64], scheme: Scheme) -> None:
    keys = account_keys(scheme, 20)
    docs = [*clean[:321], *marked(keys[13], 1, 200, seed=3), *clean[321:]]
    lines = np.arange(1, len(docs) + 1)
    result = score_documents(TokenCorpus.of(docs), keys, lines)
    hits = result.flagged(1e-6)
    assert [(h.doc, h.line, h.account) for h in hits] == [(321, 322, "acct-13")]
    assert hits[0].p_adjusted == pytest.approx(hits[0].p_value * 501 * 20, rel=1e-6)
    if scheme.name == "kgw":  # pooled into one p-value, the document drowns
        assert detect(TokenCorpus.of(docs), keys).scores[0].p_adjusted > 1e-6


def test_identical_copies_of_a_marked_document_keep_their_tuples(clean: list[I64]) -> None:
    keys = account_keys(KGW, 3)
    doc = marked(keys[1], 1, 150, seed=4)[0]
    for shared in ("first", "drop"):
        result = score_documents(
            TokenCorpus.of([*clean[:50], doc, *clean[50:100], doc]), keys, shared=shared
        )
        (hit,) = result.flagged(1e-6)
        assert hit.doc == 50 and hit.copies == 2 and hit.account == "acct-1"


def test_a_marked_span_inside_unmarked_text_is_located(clean: list[I64]) -> None:
    key = account_keys(KGW, 1)[0]
    model = bigram_model(V, seed=1, sharpness=1.5)
    rng = np.random.default_rng(5)
    before = clean[400][:150]
    span = generate(model, [before[-2:]], 100, key, rng)[0]
    after = generate(model, [span[-2:]], 150, None, rng)[0]
    doc = np.concatenate([before, span, after])
    docs = [*clean[:100], doc]
    scan = scan_spans(TokenCorpus.of(docs), [key], alpha=1e-6)
    assert scan.spans and {s.doc for s in scan.spans} == {100}
    best = scan.spans[0]
    assert best.start < 250 and best.end > 150 and best.end - best.start <= 256
    assert best.p_adjusted < 1e-6
    whole = score_documents(TokenCorpus.of(docs), [key]).ranked(1)[0]
    assert whole.doc == 100 and best.p_value < whole.p_value


def _dispersion(clean: list[I64], shared: Shared, keys: int) -> tuple[float, float]:
    """Over many keys, how many of a templated corpus's documents fall below 0.05 per key:
    (variance / mean of that count, mean share). Independent p-values give about 1."""
    rng = np.random.default_rng(6)
    templates = [rng.integers(0, V, 40) for _ in range(3)]
    docs = [np.concatenate([templates[i % 3], clean[i][:40]]) for i in range(300)]
    corpus = TokenCorpus.of(docs)
    counts = []
    for key in account_keys(KGW, keys, ring="calibration"):
        p = score_documents(corpus, [key], shared=shared).p_value
        counts.append(int(np.count_nonzero(p <= 0.05)))
    c = np.asarray(counts, dtype=np.float64)
    return float(c.var(ddof=1) / c.mean()), float(c.mean() / 300)


def test_shared_ngrams_no_longer_cluster_false_positives(clean: list[I64]) -> None:
    """Documents sharing a template: scored on their own tuples ("keep", the old way) the
    per-key false-positive counts are overdispersed; de-duplicated across the set they
    are binomial, as independent tests must be."""
    old, _ = _dispersion(clean, "keep", 120)
    assert old > 3.0
    for shared in ("first", "drop"):
        ratio, share = _dispersion(clean, shared, 120)  # type: ignore[arg-type]
        assert 0.55 < ratio < 1.5
        assert share <= 0.05 + 0.01


def test_streaming_equals_in_memory_with_pieces_and_spilling(clean: list[I64]) -> None:
    keys = [*account_keys(KGW, 3), *account_keys(Scheme("gumbel", window=1), 2, ring="g")]
    docs = [*clean[:60], *marked(keys[2], 1, 200, seed=7), clean[3], *clean[60:120]]
    pieces = [TokenPiece(i, i + 1, part) for i, d in enumerate(docs) for part in (d[:77], d[77:])]
    batches = [
        pieces[i : i + 25] for i in range(0, len(pieces), 25)
    ]  # documents cut across batches
    streamed = detect_stream(batches, keys, memory_pairs=500, bucket_pairs=400)  # some split again
    pooled = detect(TokenCorpus.of(docs), keys)
    same(streamed.detection.scores, pooled.scores)
    assert (streamed.detection.tokens, streamed.detection.documents) == (
        pooled.tokens,
        pooled.documents,
    )
    alone = score_documents(TokenCorpus.of(docs), keys, lines=np.arange(1, len(docs) + 1))
    assert streamed.documents is not None
    same(streamed.documents.ranked(), alone.ranked())
    (hit,) = streamed.documents.flagged(1e-6)
    assert (hit.line, hit.account) == (61, "acct-2")


def same(got: Sequence[Any], want: Sequence[Any]) -> None:
    """Equal results, up to the order floating-point sums were added in."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        a, b = g.to_dict(), w.to_dict()
        for name, value in a.items():
            if isinstance(value, float):
                assert value == pytest.approx(b[name], rel=1e-9, abs=1e-300), name
            else:
                assert value == b[name], name


def test_per_document_totals_are_bounded(clean: list[I64], monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents x keys past the limit: pooled scores still, per-document ones refused
    with the reason (their totals would grow with both)."""
    from distillwatch.watermark import stream

    monkeypatch.setattr(stream, "MAX_DOCUMENT_KEYS", 100)
    keys = account_keys(KGW, 3)
    batches = [[TokenPiece(i, i + 1, d) for i, d in enumerate(clean[:40])]]
    result = detect_stream(batches, keys)
    assert result.documents is None and result.detection.documents == 40
    assert (
        result.documents_skipped is not None and "40 documents x 3 keys" in result.documents_skipped
    )
