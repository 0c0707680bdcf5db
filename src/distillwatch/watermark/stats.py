"""Exact tail probabilities for the two scores, and the correction for trying many keys.

Under the null hypothesis (the text does not depend on the key), every *distinct*
(window, token) tuple gets an independent uniform from the keyed PRF, so

* KGW: the number of green tuples among ``n`` is Binomial(n, gamma) — the p-value is the
  exact upper tail, not the z-score's normal approximation, which is badly anti-conservative
  for short texts and tiny p-values;
* exponential-minimum (Gumbel-max): each tuple contributes ``-log(1 - u) ~ Exp(1)``, so the
  sum over ``n`` tuples is Gamma(n, 1) — again an exact tail.

Only ``scipy.special`` is used (no ``scipy.stats``), which keeps the detector's import light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

F64 = npt.NDArray[np.float64]


def binomial_tail(successes: int, trials: int, prob: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, prob); 1.0 when nothing was scored."""
    if successes <= 0 or trials <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    return float(special.bdtrc(successes - 1, trials, prob))


def binomial_randomized(successes: int, trials: int, prob: float, uniform: float) -> float:
    """The randomised p-value P(X > s) + U * P(X = s): exactly Uniform(0, 1) under the null.

    The plain tail is valid but discrete (conservative); calibration checks such as a KS
    test compare against a continuous uniform, which only the randomised version matches.
    """
    if trials <= 0:
        return uniform
    above = float(special.bdtrc(successes, trials, prob)) if successes < trials else 0.0
    return above + uniform * (binomial_tail(successes, trials, prob) - above)


def gamma_tail(total: float, count: int) -> float:
    """P(S >= total) for S ~ Gamma(count, 1), the sum of ``count`` Exp(1) scores."""
    if count <= 0:
        return 1.0
    return float(special.gammaincc(count, total))


def binomial_z(successes: int, trials: int, prob: float) -> float:
    """The KGW z-score, reported for readability (decisions use the exact tail)."""
    if trials <= 0:
        return 0.0
    return (successes - prob * trials) / math.sqrt(trials * prob * (1.0 - prob))


def gamma_z(total: float, count: int) -> float:
    """Standardised Gamma(count, 1) sum, for readability."""
    if count <= 0:
        return 0.0
    return (total - count) / math.sqrt(count)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error over the keys tried).

    Valid whatever the dependence between keys; the smallest adjusted value equals the
    Bonferroni correction ``m * min(p)``, the others let several keys (accounts) be named at
    once without inflating false accusations.
    """
    return [float(x) for x in holm_array(np.asarray(p_values, dtype=np.float64))]


def holm_array(p_values: npt.NDArray[np.float64], family: int | None = None) -> F64:
    """Vectorised Holm adjustment; ``family`` (>= len) when these are the best of a larger
    family (e.g. each document's best key among documents x keys): each value is then
    multiplied by at least as much as full Holm would, so the result stays valid."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[0] if family is None else family
    order = np.argsort(p, kind="stable")
    factors = m - np.arange(p.shape[0], dtype=np.float64)
    stepped = np.maximum.accumulate(np.minimum(1.0, factors * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def binomial_tails(successes: npt.ArrayLike, trials: npt.ArrayLike, prob: float) -> F64:
    """``binomial_tail`` over arrays (many documents or windows at once)."""
    k = np.rint(np.asarray(successes, dtype=np.float64)).astype(np.int64)
    n = np.asarray(trials, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        tail = special.bdtrc(np.maximum(k - 1, 0), n, prob)
    return np.where((k <= 0) | (n <= 0), 1.0, np.where(k > n, 0.0, tail))


def gamma_tails(totals: npt.ArrayLike, counts: npt.ArrayLike) -> F64:
    """``gamma_tail`` over arrays."""
    t = np.asarray(totals, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        tail = special.gammaincc(np.maximum(n, 1.0), t)
    return np.where(n <= 0, 1.0, tail)


class Score(NamedTuple):
    """One key's result on one set of scored tuples."""

    statistic: float
    z: float
    p_value: float
