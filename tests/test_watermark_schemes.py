"""The NumPy reference: marking, exact detection, distortion-freeness and null calibration.

A toy bigram language model stands in for a real one (``reference.bigram_model``); every
random choice is seeded, so the statistical assertions are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from distillwatch.watermark import TokenCorpus, detect
from distillwatch.watermark.gumbel import choose, log_softmax
from distillwatch.watermark.keys import MasterKey, WatermarkKey
from distillwatch.watermark.prf import (
    context_fingerprints,
    keyed_uniform,
    tuple_fingerprints,
    window_fingerprints,
)
from distillwatch.watermark.reference import bigram_model, generate, mark_logits, sample
from distillwatch.watermark.scheme import Scheme, SchemeError
from distillwatch.watermark.stats import (
    binomial_randomized,
    binomial_tail,
    gamma_tail,
    holm,
)
from distillwatch.watermark.warp import Sampling, warp

V = 300


def key_for(scheme: Scheme, name: str = "k", account: str | None = None) -> WatermarkKey:
    master = MasterKey(f"test-{name}", name.encode().ljust(32, b"."), scheme, "2026-01-01")
    return master.derive(account)


def prompts(n: int, seed: int, length: int = 3) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, size=(n, length)).tolist()


KGW = Scheme("kgw", window=2, gamma=0.25, delta=2.0)
GUMBEL = Scheme("gumbel", window=2)


@pytest.mark.parametrize("scheme", [KGW, GUMBEL], ids=["kgw", "gumbel"])
def test_marked_text_detected_and_clean_text_not(scheme: Scheme) -> None:
    model = bigram_model(V, seed=1, sharpness=1.5)
    key = key_for(scheme)
    rng = np.random.default_rng(2)
    marked = generate(model, prompts(20, 3), 200, key, rng)
    clean = generate(model, prompts(20, 3), 200, None, rng)
    for seq in marked:
        assert detect(TokenCorpus.of([seq]), [key]).scores[0].p_value < 1e-6
    clean_p = [detect(TokenCorpus.of([s]), [key]).scores[0].p_value for s in clean]
    assert min(clean_p) > 1e-3
    other = key_for(scheme, "other")
    assert detect(TokenCorpus.of(marked), [other]).scores[0].p_value > 1e-3


def test_repeated_ngrams_are_counted_once() -> None:
    key = key_for(KGW)
    seq = generate(bigram_model(V, seed=4), prompts(1, 5), 150, key, np.random.default_rng(6))[0]
    once = detect(TokenCorpus.of([seq]), [key]).scores[0]
    fifty = detect(TokenCorpus.of([seq] * 50), [key]).scores[0]
    looped = detect(TokenCorpus.of([np.tile(seq, 50)]), [key]).scores[0]
    assert fifty.scored == once.scored
    assert fifty.p_value == once.p_value
    # the loop adds only the few tuples that straddle the joins
    assert looped.scored <= once.scored + 2


def test_windows_never_span_documents() -> None:
    ids = np.arange(10, dtype=np.int64)
    ctx, pos = context_fingerprints(ids, np.array([0, 4, 5]), window=2)
    assert pos.tolist() == [2, 3, 7, 8, 9]
    manual = window_fingerprints(np.stack([ids[p - 2 : p] for p in pos]))
    assert np.array_equal(ctx, manual)


def test_keyed_uniform_is_uniform_and_key_dependent() -> None:
    fps = tuple_fingerprints(np.uint64(12345), np.arange(200_000))
    u1 = keyed_uniform(fps, (1, 2))
    u2 = keyed_uniform(fps, (1, 3))
    assert u1.min() > 0.0 and u1.max() < 1.0
    assert stats.kstest(u1, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u1, u2)[0, 1]) < 0.01


def test_gumbel_sampling_is_distortion_free() -> None:
    """Over many contexts (fresh uniforms), the chosen tokens follow the model's p exactly."""
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    p = np.exp(log_softmax(logits))
    n = 60_000
    windows = np.random.default_rng(7).integers(0, 10**9, size=(n, 2))
    chosen = choose(np.tile(logits, (n, 1)), windows, key_for(GUMBEL))
    counts = np.bincount(chosen, minlength=logits.size)
    assert stats.chisquare(counts, p * n).pvalue > 1e-3


@pytest.mark.parametrize(
    "sampling",
    [Sampling(top_k=5), Sampling(top_p=0.7), Sampling(temperature=0.5), Sampling(1.7, 8, 0.9)],
    ids=["top_k=5", "top_p=0.7", "T=0.5", "T=1.7,k=8,p=0.9"],
)
def test_gumbel_choice_honours_temperature_top_k_top_p(sampling: Sampling) -> None:
    """The mark's choice is the sample: it must come from the warped distribution — only
    top-k / nucleus tokens, with their renormalised probabilities at the temperature."""
    logits = np.linspace(3.0, -3.0, 24) + np.random.default_rng(20).normal(0, 0.3, 24)
    n = 12_000
    prefixes = list(np.random.default_rng(21).integers(0, 10**9, size=(n, 2)))
    marked = mark_logits(np.tile(logits, (n, 1)), prefixes, key_for(GUMBEL), sampling)
    chosen = sample(marked, np.random.default_rng(22))
    assert np.isfinite(marked).sum(axis=1).max() == 1  # only the choice is left
    p = np.exp(log_softmax(warp(logits, sampling)))
    allowed = np.flatnonzero(p > 0)
    assert set(chosen.tolist()) <= set(allowed.tolist())
    if sampling.top_k:
        assert set(chosen.tolist()) <= set(np.argsort(logits)[-sampling.top_k :].tolist())
    counts = np.bincount(chosen, minlength=logits.size)[allowed]
    assert stats.chisquare(counts, p[allowed] * n).pvalue > 1e-3


def test_unmarked_rows_are_warped_too() -> None:
    """Rows the mark skips (short prefix) are still drawn with top-k applied."""
    logits = np.tile(np.linspace(2.0, -2.0, 30), (4, 1))
    out = mark_logits(logits, [np.array([1])] * 4, key_for(GUMBEL), Sampling(top_k=3))
    assert (np.isfinite(out).sum(axis=1) == 3).all()


def test_kgw_null_pvalues_are_uniform_over_keys() -> None:
    """Clean text, a fresh key per text: randomised p-values pass KS; the tail is conservative."""
    model = bigram_model(V, seed=8, sharpness=2.0)
    clean = generate(model, prompts(400, 9), 60, None, np.random.default_rng(10))
    rng = np.random.default_rng(11)
    plain, randomized = [], []
    for i, seq in enumerate(clean):
        s = detect(TokenCorpus.of([seq]), [key_for(KGW, f"null{i}")]).scores[0]
        plain.append(s.p_value)
        randomized.append(binomial_randomized(int(s.statistic), s.scored, 0.25, rng.random()))
    assert stats.kstest(randomized, "uniform").pvalue > 1e-3
    assert np.mean(np.asarray(plain) <= 0.05) <= 0.05 + 0.03


def test_gumbel_null_pvalues_are_uniform_over_keys() -> None:
    model = bigram_model(V, seed=12, sharpness=2.0)
    clean = generate(model, prompts(400, 13), 60, None, np.random.default_rng(14))
    ps = [
        detect(TokenCorpus.of([s]), [key_for(GUMBEL, f"null{i}")]).scores[0].p_value
        for i, s in enumerate(clean)
    ]
    assert stats.kstest(ps, "uniform").pvalue > 1e-3


def test_the_right_account_is_named_among_many() -> None:
    accounts = [f"acct-{i}" for i in range(50)]
    keys = [key_for(KGW, "ring", a) for a in accounts]
    model = bigram_model(V, seed=15)
    text = generate(model, prompts(3, 16), 150, keys[7], np.random.default_rng(17))
    result = detect(TokenCorpus.of(text), keys)
    best = result.scores[0]
    assert best.account == "acct-7"
    assert best.p_adjusted == pytest.approx(min(1.0, 50 * best.p_value))
    assert result.matches(1e-6) == [best]


def test_exact_tails_match_their_definitions() -> None:
    n, g = 40, 0.25
    pmf = stats.binom.pmf(np.arange(n + 1), n, g)
    for s in (0, 1, 10, 25, 40):
        assert binomial_tail(s, n, g) == pytest.approx(pmf[s:].sum(), rel=1e-9, abs=1e-300)
    assert binomial_tail(41, n, g) == 0.0
    assert gamma_tail(30.0, 20) == pytest.approx(stats.gamma.sf(30.0, 20), rel=1e-9)
    assert gamma_tail(0.0, 0) == 1.0


def test_holm_adjustment() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []


def test_scheme_rejects_bad_parameters() -> None:
    with pytest.raises(SchemeError, match="unknown scheme"):
        Scheme("synthid")
    with pytest.raises(SchemeError, match="gamma"):
        Scheme("kgw", gamma=1.5)
    with pytest.raises(SchemeError, match="window"):
        Scheme("kgw", window=0)
    assert Scheme.from_dict(GUMBEL.to_dict()) == GUMBEL
