"""Typed evidence from watermark tests, in the project's finding style.

A match is strong, attributable evidence (it names the key, hence the account the marked
answers were served to), so both findings are high severity; the analyst reads ``str()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.evidence import Finding, Severity
from distillwatch.watermark.detect import KeyScore


def _p(p: float) -> str:
    return "< 1e-300" if p <= 0.0 else f"{p:.2g}"


@dataclass(frozen=True)
class WatermarkFound(Finding):
    """The text carries the mark of one of our keys."""

    description: ClassVar[str] = "text carries our watermark"
    severity: ClassVar[Severity] = Severity.HIGH

    key: str
    p_adjusted: float
    scored: int

    def __str__(self) -> str:
        return (
            f"{self.description}: key {self.key}, p = {_p(self.p_adjusted)} "
            f"(corrected) over {self.scored:,} distinct tuples"
        )

    @classmethod
    def of(cls, score: KeyScore) -> WatermarkFound:
        return cls(score.label, score.p_adjusted, score.scored)


@dataclass(frozen=True)
class RadioactiveModel(WatermarkFound):
    """The suspect model's own output carries residue of our mark: it learned from it."""

    description: ClassVar[str] = "suspect model was trained on our watermarked answers"


@dataclass(frozen=True)
class MarkedDocument(Finding):
    """One document of a set carries our mark (scored alone, corrected for the set)."""

    description: ClassVar[str] = "document carries our watermark"
    severity: ClassVar[Severity] = Severity.HIGH

    where: str
    key: str
    p_adjusted: float
    scored: int

    def __str__(self) -> str:
        return (
            f"{self.description}: {self.where}, key {self.key}, p = {_p(self.p_adjusted)} "
            f"(corrected for every document and key) over {self.scored:,} distinct tuples"
        )


def findings(scores: list[KeyScore], alpha: float, radioactive: bool = False) -> list[Finding]:
    """One finding per key whose corrected p-value is at most ``alpha``."""
    kind = RadioactiveModel if radioactive else WatermarkFound
    return [kind.of(s) for s in scores if s.p_adjusted <= alpha]
