"""Marked generation in plain NumPy: what a serving stack does, step by step.

The tests use it with small toy language models (a logits function over token prefixes) so
that marking, detection, distortion-freeness and null calibration are checked without
torch; the ``transformers`` processors in ``hf`` apply the very same functions to a real
model's logits. Rows whose prefix is shorter than the window are sampled unmarked, exactly
as detection skips positions without a full window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from distillwatch.watermark import gumbel, kgw
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import I64
from distillwatch.watermark.warp import Sampling, warp

F64 = npt.NDArray[np.float64]
#: next-token logits ``(rows, vocab)`` for each token prefix
LogitsFn = Callable[[Sequence[I64]], F64]


def sample(logits: F64, rng: np.random.Generator) -> I64:
    """One multinomial draw per row from ``softmax(logits)``."""
    probs = np.exp(gumbel.log_softmax(logits))
    cum = np.cumsum(probs, axis=-1)
    r = rng.random((probs.shape[0], 1)) * cum[:, -1:]
    return np.minimum((cum < r).sum(axis=-1), probs.shape[-1] - 1).astype(np.int64)


def window_seen_before(prefix: I64, window: int) -> bool:
    """Whether the last ``window`` tokens already occurred earlier in ``prefix``."""
    if prefix.shape[0] <= window:
        return False
    earlier = np.lib.stride_tricks.sliding_window_view(prefix[:-1], window)
    return bool((earlier == prefix[-window:]).all(axis=1).any())


def markable_rows(prefixes: Sequence[I64], key: WatermarkKey) -> I64:
    """Rows that get the mark this step.

    A row needs a full window. For the Gumbel scheme the choice is deterministic given the
    window, so a window seen before in the same text would replay its continuation and can
    lock the text into a loop; such rows are sampled unmarked ("repeated-context masking",
    as SynthID does). Detection counts each tuple once anyway, so nothing is lost.
    """
    window = key.scheme.window
    rows = [
        i
        for i, p in enumerate(prefixes)
        if len(p) >= window
        and not (key.scheme.name == "gumbel" and window_seen_before(np.asarray(p), window))
    ]
    return np.asarray(rows, dtype=np.int64)


def mark_logits(
    logits: F64, prefixes: Sequence[I64], key: WatermarkKey, sampling: Sampling | None = None
) -> F64:
    """The logits a sampler should draw from (at temperature 1) so its choice carries the mark.

    ``sampling`` (temperature, top-k, top-p) is applied here, to every row, so the result
    is final: KGW adds ``delta`` to the green tokens and then warps (the bias acts as
    ``delta / T``, as when a ``transformers`` processor runs before the warpers); Gumbel
    warps first and then picks among what is left, leaving only its choice finite — so it
    never emits a token that top-k or top-p would have removed.
    """
    cfg = sampling if sampling is not None else Sampling()
    out = np.array(logits, dtype=np.float64)
    rows = markable_rows(prefixes, key)
    window = key.scheme.window
    windows = [np.asarray(prefixes[i][-window:], dtype=np.int64) for i in rows]
    if key.scheme.name == "gumbel":
        out = warp(out, cfg)
        if windows:
            out[rows] = gumbel.force_logits(out[rows], np.stack(windows), key)
        return out
    if windows:
        out[rows] = kgw.bias_logits(out[rows], np.stack(windows), key)
    return warp(out, cfg)


def mark_step(
    logits: F64,
    prefixes: Sequence[I64],
    key: WatermarkKey | None,
    rng: np.random.Generator,
    sampling: Sampling | None = None,
) -> I64:
    """Choose the next token of every row, marked with ``key`` where the row is markable."""
    cfg = sampling if sampling is not None else Sampling()
    final = mark_logits(logits, prefixes, key, cfg) if key is not None else warp(logits, cfg)
    return sample(final, rng)


def generate(
    logits_fn: LogitsFn,
    prompts: Sequence[Sequence[int]],
    steps: int,
    key: WatermarkKey | None,
    rng: np.random.Generator,
    sampling: Sampling | None = None,
) -> list[I64]:
    """``steps`` new tokens after each prompt (returned without the prompt)."""
    seqs = [np.asarray(p, dtype=np.int64) for p in prompts]
    new: list[list[int]] = [[] for _ in seqs]
    for _ in range(steps):
        tokens = mark_step(logits_fn(seqs), seqs, key, rng, sampling)
        for i, t in enumerate(tokens.tolist()):
            new[i].append(t)
            seqs[i] = np.append(seqs[i], t)
    return [np.asarray(n, dtype=np.int64) for n in new]


def bigram_model(
    vocab_size: int,
    seed: int,
    sharpness: float = 2.5,
    allowed: Sequence[int] | None = None,
) -> LogitsFn:
    """A toy language model: random next-token logits per previous token.

    ``sharpness`` scales the logits (higher = lower entropy, a harder case for the mark);
    ``allowed`` restricts output to some token ids (the rest get -inf), e.g. whole words so
    that decoded text re-tokenises to the same ids. For tests, demos and the local
    stand-in endpoint; any real model plugs in the same way.
    """
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(vocab_size, vocab_size)) * sharpness
    if allowed is not None:
        mask = np.full(vocab_size, -np.inf)
        mask[np.asarray(allowed, dtype=np.int64)] = 0.0
        table = table + mask

    def logits(prefixes: Sequence[I64]) -> F64:
        return table[[int(p[-1]) if len(p) else 0 for p in prefixes]]

    return logits
