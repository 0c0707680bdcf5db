"""KGW green-list watermark (Kirchenbauer et al., 2023), NumPy reference.

At each step the previous ``window`` tokens and the key pick a "green" share ``gamma`` of
the vocabulary; ``delta`` is added to the green logits before sampling, so marked text
over-uses green tokens. Here a token is green when its keyed uniform is below ``gamma``
(a Bernoulli green list rather than an exact ``gamma * V`` split): under the null every
distinct (window, token) tuple is green with probability exactly ``gamma``, independently,
which is what makes the binomial test exact, and detection never has to build a list.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import I64, vocab_uniforms
from distillwatch.watermark.stats import Score, binomial_tail, binomial_z

F64 = npt.NDArray[np.float64]


def green_mask(windows: I64, key: WatermarkKey, vocab_size: int) -> npt.NDArray[np.bool_]:
    """``(rows, vocab)`` booleans: which tokens are green after each row's context window."""
    return vocab_uniforms(windows, key.material, vocab_size) < key.scheme.gamma


def bias_logits(logits: F64, windows: I64, key: WatermarkKey) -> F64:
    """The marked logits: ``delta`` added to every green token of each row."""
    mask = green_mask(windows, key, logits.shape[-1])
    return np.asarray(logits, dtype=np.float64) + key.scheme.delta * mask


def score(uniforms: F64, gamma: float) -> Score:
    """Green count among distinct tuples, its z-score and exact binomial p-value."""
    n = int(uniforms.shape[0])
    green = int(np.count_nonzero(uniforms < gamma))
    return Score(float(green), binomial_z(green, n, gamma), binomial_tail(green, n, gamma))
