"""Typed evidence from shared intelligence, in the style of :mod:`distillwatch.detect.evidence`.

Defined here, not in ``detect``: detection never imports the sharing code, but the sharing
code may speak detection's language, so retro-hunt results read like any other reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class SharedCampaignMatch(Finding):
    """The account's traffic matches a campaign another member shared, strongly enough to
    block on."""

    description: ClassVar[str] = "matches a campaign shared by another provider"
    severity: ClassVar[Severity] = Severity.HIGH
    tactic: ClassVar[str | None] = "shared_campaign"

    source: str
    kinds: tuple[str, ...]
    confidence: float

    def __str__(self) -> str:
        return (
            f"matches {', '.join(self.kinds)} of a campaign shared by {self.source} "
            f"(confidence {self.confidence:.2f})"
        )


@dataclass(frozen=True)
class SharedIndicatorHint(Finding):
    """Weak overlap with a shared campaign (a user agent, an ASN): worth a look, not a block."""

    description: ClassVar[str] = "overlaps indicators shared by another provider"
    severity: ClassVar[Severity] = Severity.LOW

    source: str
    kinds: tuple[str, ...]
    confidence: float

    def __str__(self) -> str:
        return (
            f"shares {', '.join(self.kinds)} with a campaign reported by {self.source} "
            f"(confidence {self.confidence:.2f})"
        )
