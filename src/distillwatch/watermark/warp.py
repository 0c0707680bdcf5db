"""Sampling settings (temperature, top-k, top-p) applied the way ``transformers`` does.

The Gumbel scheme *is* the sampler: its keyed choice replaces the random draw. So whatever
the serving stack would do to the distribution before drawing — temperature, top-k,
nucleus (top-p) — must happen before that choice, or the choice ignores it: it would pick
from the full distribution and leave one token, which a later top-k then keeps whatever
its rank. ``warp`` is that step, with the same semantics as ``transformers``'
``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and ``TopPLogitsWarper`` (ties at the
k-th value are kept; the nucleus always keeps the most likely token).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Sampling:
    """How the next token is drawn. ``top_k`` 0 or None and ``top_p`` 1.0 switch them off."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if not self.temperature > 0.0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def neutral(self) -> bool:
        return self.temperature == 1.0 and not self.top_k and self.top_p >= 1.0


def warp(logits: F64, sampling: Sampling) -> F64:
    """``logits / T`` with everything outside the top-k and the top-p nucleus set to -inf."""
    out = np.asarray(logits, dtype=np.float64) / sampling.temperature
    if sampling.top_k and sampling.top_k < out.shape[-1]:
        kth = np.partition(out, -sampling.top_k, axis=-1)[..., -sampling.top_k, None]
        out = np.where(out < kth, -np.inf, out)
    if sampling.top_p < 1.0:
        order = np.argsort(out, axis=-1)  # ascending, as transformers does
        ranked = np.take_along_axis(out, order, axis=-1)
        with np.errstate(invalid="ignore"):
            probs = np.exp(ranked - ranked[..., -1:])
        cum = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
        drop = cum <= 1.0 - sampling.top_p
        drop[..., -1] = False
        mask = np.zeros_like(drop)
        np.put_along_axis(mask, order, drop, axis=-1)
        out = np.where(mask, -np.inf, out)
    return out
