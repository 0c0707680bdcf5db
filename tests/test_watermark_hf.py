"""The ``transformers`` logits processor: same marks as the NumPy reference, inside generate().

A tiny randomly initialised GPT-2 is built locally (no hub download). CI installs the
``watermark`` extra and torch, so these run there; elsewhere they are skipped.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from distillwatch.watermark import TokenCorpus, detect  # noqa: E402
from distillwatch.watermark.hf import WatermarkLogitsProcessor  # noqa: E402
from distillwatch.watermark.keys import MasterKey, WatermarkKey  # noqa: E402
from distillwatch.watermark.reference import mark_logits  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402

V = 256


def key(scheme: Scheme, account: str | None = None) -> WatermarkKey:
    return MasterKey("hf", b"h" * 32, scheme, "2026-01-01").derive(account)


@pytest.fixture(scope="module")
def model() -> object:
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=V,
        n_positions=256,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return transformers.GPT2LMHeadModel(cfg).eval()


@pytest.mark.parametrize("scheme", [Scheme("kgw", window=2), Scheme("gumbel", window=2)])
def test_processor_equals_reference(scheme: Scheme) -> None:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, V, size=(5, 9))
    scores = rng.normal(size=(5, V)).astype(np.float32)
    k = key(scheme)
    got = WatermarkLogitsProcessor(k)(torch.from_numpy(ids), torch.from_numpy(scores))
    want = mark_logits(scores.astype(np.float64), list(ids), k)
    assert got.dtype == torch.float32
    finite = np.isfinite(want)
    assert np.array_equal(np.isfinite(got.numpy()), finite)
    assert np.allclose(got.numpy()[finite], want[finite], atol=1e-5)
    if scheme.name == "kgw":
        assert np.count_nonzero(got.numpy() != scores) > 0


@pytest.mark.parametrize("scheme", [Scheme("kgw", window=2), Scheme("gumbel", window=2)])
def test_generate_with_processor_is_detected(model: object, scheme: Scheme) -> None:
    keys = [key(scheme, "acct-a"), key(scheme, "acct-b")]
    torch.manual_seed(2)
    prompt = torch.randint(1, V, (2, 4))
    out = model.generate(  # type: ignore[attr-defined]
        prompt,
        attention_mask=torch.ones_like(prompt),
        logits_processor=[WatermarkLogitsProcessor(keys)],
        do_sample=True,
        top_k=0,
        max_new_tokens=200,
        min_new_tokens=200,
        pad_token_id=0,
    )
    for row, own in enumerate(keys):
        text = TokenCorpus.of([out[row, 4:].numpy()])
        result = detect(text, keys)
        assert result.best is not None and result.best.label == own.label
        assert result.best.p_adjusted < 1e-6
        assert result.scores[1].p_value > 1e-3


def test_processor_checks_one_key_per_row() -> None:
    proc = WatermarkLogitsProcessor([key(Scheme())] * 3)
    with pytest.raises(ValueError, match="3 watermark keys for a batch of 2 rows"):
        proc(torch.zeros((2, 4), dtype=torch.long), torch.zeros((2, V)))
