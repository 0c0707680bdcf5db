"""Several assessors as one: the gateway's default asks the online engine *and* the rates.

The two see different things. Decayed request rates react on the first burst of a bulk
harvester and carry what a scan already knows (``--scan``) and the keys file's clusters; the
online engine reads behaviour -- what is asked, how, when -- and needs ten requests before it
judges. A request is assessed by each; the combined assessment takes the strongest score of
each kind, and keeps every reason, strongest assessment first, so the decision log says which
side saw what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from distillwatch.enforce.assessment import Assessment, Assessor


class CombinedAssessor:
    """Implements ``Assessor`` over ``parts`` (asked in order, every one for every request)."""

    def __init__(self, parts: Sequence[Assessor]) -> None:
        if not parts:
            raise ValueError("CombinedAssessor needs at least one assessor")
        self.parts = tuple(parts)

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        return combine([part.assess(record) for part in self.parts])

    def close(self) -> None:
        for part in self.parts:
            close = getattr(part, "close", None)
            if close is not None:
                close()


def combine(assessments: Sequence[Assessment]) -> Assessment:
    """One assessment from several of the same request."""
    ranked = sorted(assessments, key=lambda a: a.score, reverse=True)
    reasons: dict[str, None] = {}
    for a in ranked:
        reasons.update(dict.fromkeys(a.reasons))
    clustered = max(assessments, key=lambda a: (a.cluster_id is not None, a.cluster_score))
    return Assessment(
        account_id=ranked[0].account_id,
        cluster_id=clustered.cluster_id,
        score=ranked[0].score,
        cluster_score=clustered.cluster_score,
        reasons=tuple(reasons),
        tactics=tuple(sorted({t for a in assessments for t in a.tactics})),
        indicators=tuple(dict.fromkeys(i for a in assessments for i in a.indicators)),
        distinctive=any(a.distinctive for a in assessments),
    )
