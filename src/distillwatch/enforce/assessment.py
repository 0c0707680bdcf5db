"""What the online engine knows about the account behind one request, at that moment.

The enforcement stage never computes scores itself: an :class:`Assessor` (the online engine,
or the simple rate assessor until the engine lands) turns each traffic log v1 record into an
:class:`Assessment`, and the policy maps assessments to actions. Keeping this seam small and
typed lets the engine, the sharing code's indicator matcher and the gateway evolve apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class IndicatorMatch:
    """A request matched an indicator imported from a sharing-group member."""

    #: The member (sharing-group identity) that published the indicator.
    source: str
    #: What kind of indicator: ``ip_prefix``, ``asn``, ``user_agent``, ``payment_fingerprint``,
    #: ``email_domain``, ``template_id`` (the campaign ``indicators`` keys, singular).
    kind: str
    #: The indicator value as published (a CIDR string, an ASN as text, a hash...).
    value: str

    def __str__(self) -> str:
        return f"matches {self.kind} {self.value} shared by {self.source}"


@dataclass(frozen=True)
class Assessment:
    """One account's standing when one of its requests arrives."""

    account_id: str
    cluster_id: str | None = None
    #: 0..1, higher means more likely distillation.
    score: float = 0.0
    #: 0..1, the score of the linked-account cluster (0 when there is none).
    cluster_score: float = 0.0
    #: Short human-readable reasons, strongest first.
    reasons: tuple[str, ...] = ()
    #: Distillation tactics seen (``cot_harvesting``, ``hydra_cluster``...).
    tactics: tuple[str, ...] = ()
    indicators: tuple[IndicatorMatch, ...] = field(default=())
    #: Some evidence is of a kind honest customers rarely produce (coordination, fraud,
    #: evasion, harvest structure). Score rules act only on such accounts unless a rule
    #: says ``evidence = "any"``: behaviour honest products share raises a score, no more.
    distinctive: bool = False

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and frozen, so an assessment stays hashable.
        for name in ("reasons", "tactics", "indicators"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        for name in ("score", "cluster_score"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Assessment.{name} must be within 0..1, got {value!r}")


@runtime_checkable
class Assessor(Protocol):
    """Turns a traffic log v1 record (before its response is known) into an assessment.

    Called once per request, in arrival order; an implementation updates its own state with
    the record, so the assessment uses only what was known at that moment.
    """

    def assess(self, record: Mapping[str, Any]) -> Assessment: ...


class IndicatorLike(Protocol):
    """Anything with the three fields of :class:`IndicatorMatch` (the sharing stage's
    matches carry more, such as confidence and campaign)."""

    @property
    def source(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...


@runtime_checkable
class IndicatorMatcher(Protocol):
    """Matches a request against indicators imported from other providers.

    The sharing stage provides the implementation (``distillwatch.share.match``); enforcement
    only needs this one call.
    """

    def match(self, record: Mapping[str, Any]) -> Sequence[IndicatorLike]: ...


def as_matches(found: Iterable[IndicatorLike]) -> tuple[IndicatorMatch, ...]:
    """Plain :class:`IndicatorMatch` values from whatever a matcher returned."""
    return tuple(IndicatorMatch(str(m.source), str(m.kind), str(m.value)) for m in found)
