"""Radioactivity: a student fitted on marked text is caught; an innocent model never is.

The teacher is a toy bigram model; the "student" is a count-based bigram model fitted on a
mixture of the teacher's marked answers and other text — the simplest learner, which picks
up exactly the per-context bias a KGW mark with window 1 leaves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

from distillwatch.watermark import TokenCorpus
from distillwatch.watermark.keys import MasterKey, WatermarkKey
from distillwatch.watermark.prf import I64
from distillwatch.watermark.radioactive import radioactivity
from distillwatch.watermark.reference import LogitsFn, bigram_model, generate
from distillwatch.watermark.scheme import Scheme
from distillwatch.watermark.stats import binomial_randomized

V = 200
KGW1 = Scheme("kgw", window=1, gamma=0.25, delta=2.0)


def key_for(scheme: Scheme, name: str) -> WatermarkKey:
    return MasterKey(name, name.encode().ljust(32, b"#"), scheme, "2026-01-01").derive()


def starts(n: int, seed: int) -> list[list[int]]:
    return np.random.default_rng(seed).integers(0, V, size=(n, 1)).tolist()


def fit_bigram(sequences: Sequence[I64]) -> LogitsFn:
    counts = np.full((V, V), 0.1)
    for s in sequences:
        np.add.at(counts, (s[:-1], s[1:]), 1.0)
    table = np.log(counts / counts.sum(axis=1, keepdims=True))
    return lambda prefixes: table[[int(p[-1]) for p in prefixes]]


def student_text(share: float, key: WatermarkKey, seed: int) -> tuple[TokenCorpus, TokenCorpus]:
    teacher = bigram_model(V, seed=1, sharpness=1.5)
    other = bigram_model(V, seed=2, sharpness=1.5)  # "human" text from elsewhere
    rng = np.random.default_rng(seed)
    n_marked = round(400 * share)
    marked = generate(teacher, starts(n_marked, seed), 100, key, rng) if n_marked else []
    rest = generate(other, starts(400 - n_marked, seed + 1), 100, None, rng)
    student = fit_bigram([*marked, *rest])
    sampled = generate(student, starts(300, seed + 2), 100, None, rng)
    return TokenCorpus.of(sampled), TokenCorpus.of(marked)


@pytest.mark.parametrize("share", [0.05, 1.0])
def test_student_trained_on_marked_text_is_radioactive(share: float) -> None:
    key = key_for(KGW1, "teacher")
    text, marked = student_text(share, key, seed=3)
    plain = radioactivity(text, [key]).detection.scores[0]
    filtered = radioactivity(text, [key], watermarked=marked).detection.scores[0]
    assert filtered.p_value < 1e-3
    assert filtered.scored <= plain.scored
    if share == 1.0:
        assert plain.p_value < 1e-12


def test_student_without_marked_text_is_not() -> None:
    key = key_for(KGW1, "teacher")
    text, _ = student_text(0.0, key, seed=4)
    assert radioactivity(text, [key]).detection.scores[0].p_value > 1e-3


@pytest.mark.parametrize("scheme", [KGW1, Scheme("gumbel", window=1)], ids=["kgw", "gumbel"])
def test_filtered_test_is_valid_for_an_innocent_model(scheme: Scheme) -> None:
    """The suspect is the teacher's own clean twin: it shares every natural continuation,
    the hardest case for a filter built from our marked text. Over many keys, each with its
    own marked text as the filter, the p-values must stay uniform."""
    model = bigram_model(V, seed=5, sharpness=2.0)
    rng = np.random.default_rng(6)
    prompts = starts(30, 7)
    suspect = TokenCorpus.of(generate(model, prompts, 40, None, rng))
    ps = []
    for i in range(250):
        key = key_for(scheme, f"k{i}")
        served = TokenCorpus.of(generate(model, starts(6, 100 + i), 40, key, rng))
        s = radioactivity(
            suspect, [key], watermarked=served, prompts=TokenCorpus.of(prompts)
        ).detection.scores[0]
        if scheme.name == "kgw":
            ps.append(binomial_randomized(int(s.statistic), s.scored, scheme.gamma, rng.random()))
        else:
            ps.append(s.p_value)
    assert stats.kstest(ps, "uniform").pvalue > 1e-3


def test_innocent_suspects_scored_apart_are_independent() -> None:
    """Two innocent models of one language share its n-grams, so under one key their
    scores move together; dropping what each shares with the other (and with background
    text) scores them on disjoint tuples, and the correlation across keys goes."""
    model = bigram_model(V, seed=5, sharpness=2.0)
    rng = np.random.default_rng(8)
    a, b = (TokenCorpus.of(generate(model, starts(40, s), 60, None, rng)) for s in (9, 10))
    background = TokenCorpus.of(generate(model, starts(100, 11), 60, None, rng))
    together, apart = [], []
    for i in range(200):
        key = key_for(KGW1, f"s{i}")
        together.append([radioactivity(x, [key]).detection.scores[0].z for x in (a, b)])
        ra = radioactivity(a, [key], background=background, others=[b]).detection.scores[0]
        rb = radioactivity(b, [key], background=background, others=[a]).detection.scores[0]
        apart.append([ra.z, rb.z])
    assert np.corrcoef(np.asarray(together).T)[0, 1] > 0.15
    assert abs(np.corrcoef(np.asarray(apart).T)[0, 1]) < 0.12
