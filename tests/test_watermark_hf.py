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
from distillwatch.watermark.hf import WatermarkLogitsProcessor, generate_marked  # noqa: E402
from distillwatch.watermark.keys import MasterKey, WatermarkKey  # noqa: E402
from distillwatch.watermark.reference import mark_logits  # noqa: E402
from distillwatch.watermark.scheme import Scheme  # noqa: E402
from distillwatch.watermark.warp import Sampling, warp  # noqa: E402

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


@pytest.fixture(scope="module")
def peaked() -> object:
    """A tiny GPT-2 with widely spread logits, so the top-k is never a near-tie."""
    torch.manual_seed(3)
    cfg = transformers.GPT2Config(
        vocab_size=V, n_positions=256, n_embd=32, n_layer=1, n_head=2, initializer_range=0.5
    )
    return transformers.GPT2LMHeadModel(cfg).eval()


@pytest.mark.parametrize("top_k", [5, None], ids=["top_k=5", "config-default"])
def test_gumbel_generate_emits_only_top_k_tokens(peaked: object, top_k: int | None) -> None:
    """Every emitted token is among the model's top k at its step (teacher-forced check);
    with no top_k anywhere, ``generate``'s own default (50) is honoured the same way."""
    k = key(Scheme("gumbel", window=1), "acct-a")
    prompt = torch.randint(1, V, (3, 4), generator=torch.Generator().manual_seed(4))
    extra = {} if top_k is None else {"top_k": top_k}
    out = generate_marked(
        peaked,
        prompt,
        k,
        attention_mask=torch.ones_like(prompt),
        do_sample=True,
        max_new_tokens=120,
        min_new_tokens=120,
        pad_token_id=0,
        **extra,
    )
    with torch.no_grad():
        logits = peaked(out).logits[:, 3:-1].numpy()  # type: ignore[operator]
    emitted = out[:, 4:].numpy()
    kth = np.sort(logits, axis=-1)[..., -(top_k or 50)]
    mine = np.take_along_axis(logits, emitted[..., None], axis=-1)[..., 0]
    assert (mine >= kth - 1e-4).all()
    if top_k is not None:
        assert detect(TokenCorpus.of(list(emitted)), [k]).scores[0].p_value < 1e-6


def test_warp_matches_transformers_warpers() -> None:
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(6, V)).astype(np.float32) * 3
    for temperature, top_k, top_p in [(0.7, 10, 1.0), (1.3, 0, 0.8), (1.0, 40, 0.5)]:
        want = torch.from_numpy(scores)
        want = transformers.TemperatureLogitsWarper(temperature)(None, want)
        if top_k:
            want = transformers.TopKLogitsWarper(top_k)(None, want)
        if top_p < 1.0:
            want = transformers.TopPLogitsWarper(top_p)(None, want)
        got = warp(scores.astype(np.float64), Sampling(temperature, top_k, top_p))
        assert np.array_equal(np.isfinite(got), np.isfinite(want.numpy()))
        assert np.allclose(got[np.isfinite(got)], want.numpy()[np.isfinite(got)], atol=1e-5)


def test_unsupported_warpers_are_refused(peaked: object) -> None:
    with pytest.raises(ValueError, match="min_p"):
        generate_marked(peaked, torch.ones((1, 2), dtype=torch.long), key(Scheme()), min_p=0.1)
