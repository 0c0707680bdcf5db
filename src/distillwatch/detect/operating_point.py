"""The operating point: a score threshold set on the provider's own known-good accounts.

A threshold tuned on simulated traffic says nothing about the false-positive rate on a real
customer base, so the provider picks the rate it can live with (say 0.1%) and the threshold
is read off the scores of accounts it knows to be honest (verified enterprises, an
allow-list, alerts its analysts dismissed). An empirical rate on a finite sample is only an
estimate, so every rate here comes with its exact (Clopper-Pearson) 95% interval, and the
result says plainly when the sample is too small to show the target at all: with 1,000
known-good accounts and no false positive, the FPR is only shown to be below ~0.37%.

An account counts as flagged when ``score >= threshold`` *and* it carries distinctive
evidence (a flag needs what honest customers rarely do); an account without distinctive
evidence is never a false positive, whatever its score, but it stays in the denominator --
the rate is the share of *all* known-good accounts that would be flagged.

Pure functions over plain numbers: no I/O, no labels beyond the ones the provider passes in.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Two-sided confidence of every interval reported here.
CONFIDENCE = 0.95
#: Thresholds are chosen on this grid: scores are written with four decimals.
STEP = 1e-4
#: The floor ``calibrate`` uses by default: below one half a calibrated score says the account
#: is more likely honest than not, and a known-good sample that does not bound the threshold
#: (no known-good account can be flagged) must not push it to zero.
DEFAULT_FLOOR = 0.5


@dataclass(frozen=True)
class Scored:
    """One labelled account's score, and whether it could be flagged at all."""

    score: float
    distinctive: bool = True


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``total``, with its exact two-sided Clopper-Pearson interval."""

    hits: int
    total: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0


@dataclass(frozen=True)
class OperatingPoint:
    """The chosen threshold and what the labelled accounts say about it."""

    threshold: float
    target_fpr: float
    #: False positives among the known-good accounts at ``threshold``.
    fpr: Rate
    #: Known-good accounts that could be flagged at some threshold (distinctive evidence).
    flaggable: int
    #: Flagged share of the known-bad accounts at ``threshold``; None without any.
    recall: Rate | None
    #: The lowest FPR this many known-good accounts can show: the CP upper bound at 0 hits.
    min_supported_fpr: float
    #: Known-good accounts needed to show ``target_fpr`` with no false positive.
    needed_known_good: int
    warnings: tuple[str, ...] = ()

    @property
    def known_good(self) -> int:
        return self.fpr.total

    @property
    def target_met(self) -> bool:
        """The empirical FPR is at or below the target (the interval may still exceed it)."""
        return self.fpr.value <= self.target_fpr


def clopper_pearson(hits: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact binomial interval: never narrower than the truth, even at 0 hits, where the
    normal approximation claims an FPR of exactly zero."""
    if total <= 0 or not 0 <= hits <= total:
        raise ValueError(f"need 0 <= hits <= total and total > 0, got {hits} of {total}")
    # imported here: scipy.stats costs every `distillwatch` command 0.6 CPU s at start-up, and
    # only a calibration computes an interval
    from scipy.stats import beta

    alpha = 1.0 - confidence
    low = 0.0 if hits == 0 else float(beta.ppf(alpha / 2, hits, total - hits + 1))
    high = 1.0 if hits == total else float(beta.ppf(1 - alpha / 2, hits + 1, total - hits))
    return low, high


def rate(hits: int, total: int, confidence: float = CONFIDENCE) -> Rate:
    low, high = clopper_pearson(hits, total, confidence)
    return Rate(hits, total, low, high)


def min_supported_fpr(known_good: int, confidence: float = CONFIDENCE) -> float:
    """The upper bound with no false positive at all: no threshold can show less."""
    return clopper_pearson(0, known_good, confidence)[1]


def needed_known_good(target_fpr: float, confidence: float = CONFIDENCE) -> int:
    """Known-good accounts needed for 0 false positives to show an FPR below the target."""
    if not 0.0 < target_fpr < 1.0:
        raise ValueError(f"target FPR must be within (0, 1), got {target_fpr}")
    return math.ceil(math.log((1.0 - confidence) / 2) / math.log1p(-target_fpr))


def flagged(accounts: Iterable[Scored], threshold: float) -> int:
    """How many accounts the detector would flag at ``threshold``."""
    return sum(1 for a in accounts if a.distinctive and a.score >= threshold)


def _above(value: float, step: float) -> float:
    """The smallest point of the ``step`` grid strictly above ``value``."""
    t = round(math.ceil(value / step) * step, 10)
    return t if t > value else round(t + step, 10)


def choose_threshold(
    good: Sequence[Scored],
    target_fpr: float,
    bad: Sequence[Scored] = (),
    *,
    min_threshold: float = 0.0,
    step: float = STEP,
    confidence: float = CONFIDENCE,
) -> OperatingPoint:
    """The lowest threshold (on the ``step`` grid, at least ``min_threshold``) at which the
    share of ``good`` accounts flagged is at most ``target_fpr``.

    Lowest, because every step up loses attackers: the provider's target is the budget of
    honest customers it accepts to bother, and the threshold spends exactly that budget.
    Ties matter: a threshold just above a known-good score leaves that account unflagged.
    When even 1.0 flags too many known-good accounts the threshold is 1.0 and the result
    says the target is not met.
    """
    if not good:
        raise ValueError("no known-good accounts: the FPR cannot be estimated")
    if not 0.0 < target_fpr < 1.0:
        raise ValueError(f"target FPR must be within (0, 1), got {target_fpr}")
    n = len(good)
    allowed = math.floor(target_fpr * n + 1e-9)
    scores = sorted((a.score for a in good if a.distinctive), reverse=True)
    if len(scores) <= allowed:
        threshold = min_threshold
    else:
        threshold = max(_above(scores[allowed], step), min_threshold)
        while threshold <= 1.0 and flagged(good, threshold) > allowed:  # float edge cases
            threshold = round(threshold + step, 10)
    threshold = min(threshold, 1.0)
    point = OperatingPoint(
        threshold=threshold,
        target_fpr=target_fpr,
        fpr=rate(flagged(good, threshold), n, confidence),
        flaggable=len(scores),
        recall=rate(flagged(bad, threshold), len(bad), confidence) if bad else None,
        min_supported_fpr=min_supported_fpr(n, confidence),
        needed_known_good=needed_known_good(target_fpr, confidence),
    )
    return dataclasses.replace(point, warnings=tuple(_warnings(point, allowed)))


def _warnings(point: OperatingPoint, allowed: int) -> Iterable[str]:
    pct = _pct
    n = point.known_good
    if not point.target_met:
        yield (
            f"target not met: even at threshold {point.threshold:g}, {point.fpr.hits} of {n:,} "
            f"known-good accounts are flagged ({pct(point.fpr.value)} > {pct(point.target_fpr)})"
        )
    if point.min_supported_fpr > point.target_fpr:
        yield (
            f"{n:,} known-good accounts cannot show an FPR of {pct(point.target_fpr)}: with no "
            f"false positive at all the 95% upper bound is {pct(point.min_supported_fpr)}; "
            f"showing {pct(point.target_fpr)} needs at least {point.needed_known_good:,}"
        )
    elif point.fpr.high > point.target_fpr:
        yield (
            f"the FPR's 95% interval reaches {pct(point.fpr.high)}, above the target "
            f"{pct(point.target_fpr)}: the target is met on this sample, not shown"
        )
    if point.flaggable <= allowed:
        yield (
            f"the known-good accounts do not bound the threshold: {point.flaggable} of them can "
            f"be flagged at all (the target allows {allowed}), so it sits at its floor "
            f"{point.threshold:g}"
        )
    if point.recall is not None and point.recall.total < 30:
        yield f"recall rests on {point.recall.total} known-bad account(s) only"


def _pct(value: float) -> str:
    """A rate as a percentage with enough digits to tell 0.1% from 0.37%."""
    return f"{value * 100:.3g}%"
