"""Radioactivity with a neural student, small: both settings of the neural benchmark.

``benchmarks/bench_radioactivity_neural.py`` runs this at a size that takes half an hour;
here a toy bigram teacher over 200 ids marks its answers (NumPy reference), a one-layer
GPT-2 is fitted on them with torch, and the benchmark's own open-setting reader
(``read``: the suspect's top-1 predictions on marked text, scored only where the window
is new in its text) and the closed setting (sampled text) are checked: a student trained
on marked answers is caught, its clean twin is not, and the open test stays valid for a
model that copies from its context — which scoring every position would not.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from distillwatch.watermark import TokenCorpus  # noqa: E402
from distillwatch.watermark.keys import MasterKey, WatermarkKey  # noqa: E402
from distillwatch.watermark.radioactive import radioactivity  # noqa: E402
from distillwatch.watermark.reference import bigram_model, generate  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402
from distillwatch.watermark.stats import binomial_randomized  # noqa: E402

V = 200
KGW1 = Scheme("kgw", window=1, gamma=0.25, delta=2.0)
BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_radioactivity_neural.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_radioactivity_neural", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reading(bench: ModuleType) -> ModuleType:
    """The benchmark's open-setting reader (importable once the benchmark has set its path)."""
    return importlib.import_module("radioactivity_reading")


def key_for(name: str) -> WatermarkKey:
    return MasterKey(name, name.encode().ljust(32, b"#"), KGW1, "2026-01-01").derive()


def answers(key: WatermarkKey | None, n: int, length: int, seed: int) -> list[np.ndarray]:
    """Prompt token + answer of the toy teacher, marked with ``key`` or not."""
    teacher = bigram_model(V, seed=1, sharpness=1.5)
    starts = np.random.default_rng(seed).integers(1, V, size=(n, 1)).tolist()
    out = generate(teacher, starts, length, key, np.random.default_rng(seed + 1))
    return [np.concatenate([s, a]) for s, a in zip(starts, out, strict=True)]


def student(bench: ModuleType, texts: list[np.ndarray], seed: int) -> object:
    model = bench.lm.gpt2(V, 64, 1, 128, seed)
    bench.lm.train(model, bench.lm.blocks(texts, 64), 100_000, seed, 8, lr=3e-3, label="toy")
    return model


def test_neural_student_is_radioactive_in_both_settings_and_its_clean_twin_is_not(
    bench: ModuleType, reading: ModuleType
) -> None:
    torch.set_num_threads(1)
    key = key_for("teacher")
    marked, clean = answers(key, 400, 64, seed=3), answers(None, 400, 64, seed=3)
    prompts = [np.array([t]) for t in np.random.default_rng(9).integers(1, V, 200)]
    results = {}
    for name, data in (("guilty", marked), ("twin", clean)):
        model = student(bench, data, seed=5)
        rows, mass = reading.read(model, marked, 1, V)
        opened = radioactivity(reading.tuple_corpus(rows), [key]).detection.scores[0]
        sampled = TokenCorpus.of(bench.lm.generate(model, prompts, 64, None, 11, 100))
        closed = radioactivity(
            sampled, [key], watermarked=TokenCorpus.of(marked), prompts=TokenCorpus.of(prompts)
        ).detection.scores[0]
        results[name] = (opened.p_value, closed.p_value, reading.green_mass(mass, key)[1])
    assert results["guilty"][0] < 1e-6  # open, top-1
    assert results["guilty"][1] < 1e-6  # closed, filtered
    assert results["guilty"][2] > 6.0  # green mass z
    assert min(results["twin"][:2]) > 1e-3
    assert results["twin"][2] < 3.1


class Copier(torch.nn.Module):
    """An innocent model with an induction head: it knows the teacher's bigram table (no
    key) and predicts whatever followed the last earlier occurrence of the current token."""

    def __init__(self) -> None:
        super().__init__()
        self.table = bigram_model(V, seed=1, sharpness=1.5)([np.array([t]) for t in range(V)])

    def forward(self, input_ids: object) -> SimpleNamespace:
        ids = input_ids.numpy()  # type: ignore[attr-defined]
        logits = self.table[ids].copy()
        for b, seq in enumerate(ids):
            after: dict[int, int] = {}
            for t, tok in enumerate(seq.tolist()):
                if tok in after:
                    logits[b, t, after[tok]] += 20.0
                if t + 1 < seq.shape[0]:
                    after[tok] = int(seq[t + 1])
        return SimpleNamespace(logits=torch.from_numpy(logits))


def test_open_reading_stays_valid_for_a_model_that_copies_its_context(
    reading: ModuleType,
) -> None:
    """Each key marks its own answers, read by the copier under that key: p-values must be
    uniform when only new windows are scored, and are not when every position is."""
    copier, rng = Copier(), np.random.default_rng(12)
    valid, every = [], []
    for i in range(200):
        key = key_for(f"k{i}")
        texts = answers(key, 4, 40, seed=100 + i)
        for first_only, out in ((True, valid), (False, every)):
            rows, _ = reading.read(copier, texts, 1, V, first_only=first_only)
            s = radioactivity(reading.tuple_corpus(rows), [key]).detection.scores[0]
            out.append(binomial_randomized(int(s.statistic), s.scored, KGW1.gamma, rng.random()))
    assert stats.kstest(valid, "uniform").pvalue > 1e-3
    assert stats.kstest(every, "uniform").pvalue < 1e-6
