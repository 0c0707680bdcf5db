"""Distortion-free watermark: exponential-minimum / Gumbel-max sampling (Aaronson, 2022).

With keyed uniforms ``u_v`` for every vocabulary entry ``v`` after the current window, the
next token is ``argmax_v log(u_v) / p_v`` — the same as ``argmax_v log p_v + G_v`` with
``G_v = -log(-log u_v)`` a standard Gumbel. Over the key, that is an exact sample from ``p``:
the mark costs no quality per token (the experiment measures it). The chosen token tends to
have ``u`` close to 1, so detection sums ``-log(1 - u)``, which is Exp(1) per distinct tuple
under the null and Gamma(n, 1) in total.

The price: the choice is deterministic given the window, so the same context always gives
the same continuation (less diversity across repeated prompts than plain sampling).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import I64, vocab_uniforms
from distillwatch.watermark.stats import Score, gamma_tail, gamma_z

F64 = npt.NDArray[np.float64]


def log_softmax(logits: F64, temperature: float = 1.0) -> F64:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def choose(logits: F64, windows: I64, key: WatermarkKey) -> I64:
    """The token each row emits: ``argmax log p + Gumbel(u)`` with the keyed uniforms."""
    u = vocab_uniforms(windows, key.material, logits.shape[-1])
    gumbel = -np.log(-np.log(u))
    return np.argmax(log_softmax(logits) + gumbel, axis=-1).astype(np.int64)


def force_logits(logits: F64, windows: I64, key: WatermarkKey) -> F64:
    """Logits that leave only the chosen token possible (0 for it, -inf for the rest).

    This is how the choice is handed to a sampler that expects logits: greedy decoding and
    multinomial sampling both return the chosen token. Temperature, top-k and top-p must
    already be applied to ``logits`` (``warp.warp``): after this, they can change nothing.
    """
    chosen = choose(logits, windows, key)
    out = np.full(np.shape(logits), -np.inf)
    out[np.arange(chosen.shape[0]), chosen] = 0.0
    return out


def score(uniforms: F64) -> Score:
    """Sum of ``-log(1 - u)`` over distinct tuples, its z-score and exact Gamma p-value."""
    n = int(uniforms.shape[0])
    total = float(-np.log1p(-uniforms).sum())
    return Score(total, gamma_z(total, n), gamma_tail(total, n))
