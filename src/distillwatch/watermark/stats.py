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
from scipy import special


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
    m = len(p_values)
    order = np.argsort(np.asarray(p_values, dtype=np.float64), kind="stable")
    adjusted = [0.0] * m
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[idx])))
        adjusted[idx] = running
    return adjusted


class Score(NamedTuple):
    """One key's result on one set of scored tuples."""

    statistic: float
    z: float
    p_value: float
