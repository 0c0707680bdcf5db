"""``decide``: one request's action from the policy, the assessment and the enforcement state.

Pure: no clock, no I/O, no randomness. The gateway loads the state (atomically, with the
cluster's token already taken) and stores what the decision asks it to remember, so the same
function serves the in-memory store, Redis, ``replay`` and tests, and a decision can be
re-derived later from what was logged.

Order of precedence: a manual override; then the allowlist; then the most severe of the
account's and cluster's sticky actions, the policy rules that fire, and the cluster budget;
then the policy's default action.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillwatch.enforce.assessment import Assessment
from distillwatch.enforce.decision import (
    Action,
    ActiveAction,
    Decision,
    EnforcementState,
    reference_id,
)
from distillwatch.enforce.policy import Policy, Rule


@dataclass(frozen=True)
class _Candidate:
    action: Action
    source: str
    reasons: tuple[str, ...]
    reference_id: str | None = None
    retry_after: float | None = None
    sticky_until: float | None = None
    sticky_cluster: bool = False


def decide(
    policy: Policy,
    assessment: Assessment,
    state: EnforcementState,
    now: float,
    request_id: str = "",
) -> Decision:
    """The action for one request (``now`` in epoch seconds), with its reasons."""
    previous = state.last_action or Action.ALLOW
    override = state.override
    if override is not None and override.active(now):
        return _decision(policy, assessment, _from_active(override, "override"), previous, [])
    if assessment.account_id in policy.allow_accounts:
        return _allow(assessment, previous, "allowlist", "account is on the allowlist")
    if assessment.cluster_id is not None and assessment.cluster_id in policy.allow_clusters:
        return _allow(assessment, previous, "allowlist", "cluster is on the allowlist")

    candidates = _candidates(policy, assessment, state, now)
    if not candidates:
        if policy.default_action is Action.ALLOW:
            return _allow(assessment, previous, "default")
        candidates = [_Candidate(policy.default_action, "default", ("policy default action",))]
    winner = max(candidates, key=lambda c: c.action.rank)  # first of equals: sticky, rule order
    if winner.action in (Action.BLOCK, Action.CHALLENGE) and winner.reference_id is None:
        winner = _with_reference(winner, reference_id(assessment.account_id, request_id))
    return _decision(policy, assessment, winner, previous, candidates)


def _candidates(
    policy: Policy, assessment: Assessment, state: EnforcementState, now: float
) -> list[_Candidate]:
    found: list[_Candidate] = []
    for active, source in ((state.account_action, "account"), (state.cluster_action, "cluster")):
        if active is not None and active.active(now):
            found.append(_from_active(active, source))
    for rule in policy.rules:
        matched = _matches(rule, assessment)
        if matched is not None:
            sticky = rule.ttl is not None and rule.action is not Action.ALLOW
            found.append(
                _Candidate(
                    action=rule.action,
                    source=f"rule:{rule.name}",
                    reasons=(f"rule {rule.name}: {', '.join(matched)}",),
                    retry_after=rule.retry_after,
                    sticky_until=now + rule.ttl if sticky and rule.ttl else None,
                    sticky_cluster=sticky and rule.scope == "cluster",
                )
            )
    bucket, limit = state.cluster_bucket, policy.cluster_limit
    if bucket is not None and limit is not None and not bucket.allowed:
        found.append(
            _Candidate(
                action=limit.action,
                source="cluster_limit",
                reasons=(
                    f"cluster {assessment.cluster_id} is over its shared budget "
                    f"({limit.rate:g} requests/s, burst {limit.burst:g})",
                ),
                retry_after=max(bucket.retry_after, 0.001),
            )
        )
    return found


def _matches(rule: Rule, a: Assessment) -> list[str] | None:
    """What made the rule fire, or ``None`` when one of its conditions fails."""
    why: list[str] = []
    scored = rule.min_score is not None or rule.min_cluster_score is not None
    if scored and rule.evidence == "distinctive" and not a.distinctive:
        return None  # shared behaviour raises a score; it never acts alone
    if rule.min_score is not None:
        if a.score < rule.min_score:
            return None
        why.append(f"score {a.score:.2f} >= {rule.min_score:g}")
    if rule.min_cluster_score is not None:
        if a.cluster_id is None or a.cluster_score < rule.min_cluster_score:
            return None
        why.append(
            f"cluster {a.cluster_id} score {a.cluster_score:.2f} >= {rule.min_cluster_score:g}"
        )
    if rule.tactics:
        hit = sorted(rule.tactics.intersection(a.tactics))
        if not hit:
            return None
        why.append("tactics " + ", ".join(hit))
    if rule.reasons:
        lowered = [r.lower() for r in a.reasons]
        hit = [p for p in rule.reasons if any(p in r for r in lowered)]
        if not hit:
            return None
        why.append("reasons mention " + ", ".join(hit))
    if rule.indicators:
        found = [
            i
            for i in a.indicators
            if (not rule.indicator_kinds or i.kind in rule.indicator_kinds)
            and (not rule.indicator_sources or i.source in rule.indicator_sources)
        ]
        if not found:
            return None
        why.extend(str(i) for i in found[:3])
    return why or ["always"]


def _from_active(active: ActiveAction, source: str) -> _Candidate:
    if source == "override":
        head = "manual override"
    else:
        head = f"{active.action.value} in force for the {source} (set by {active.source})"
    return _Candidate(
        action=active.action,
        source=source,
        reasons=(head, *active.reasons),
        reference_id=active.reference_id,
        retry_after=active.retry_after,
    )


def _with_reference(c: _Candidate, ref: str) -> _Candidate:
    return _Candidate(
        c.action, c.source, c.reasons, ref, c.retry_after, c.sticky_until, c.sticky_cluster
    )


def _decision(
    policy: Policy,
    assessment: Assessment,
    winner: _Candidate,
    previous: Action,
    candidates: list[_Candidate],
) -> Decision:
    reasons = list(winner.reasons)
    # Other firing candidates add their headline only: the winner explains itself in full.
    reasons += [c.reasons[0] for c in candidates if c is not winner and c.reasons[0] not in reasons]
    reasons += [r for r in assessment.reasons if r not in reasons]
    retry = winner.retry_after
    if winner.action is Action.THROTTLE and retry is None:
        retry = policy.throttle_retry_after
    return Decision(
        action=winner.action,
        account_id=assessment.account_id,
        cluster_id=assessment.cluster_id,
        reasons=tuple(reasons),
        reference_id=winner.reference_id,
        retry_after=retry if winner.action is Action.THROTTLE else None,
        source=winner.source,
        sticky_until=winner.sticky_until,
        sticky_cluster=winner.sticky_cluster,
        changed=winner.action is not previous,
        rules=tuple(c.source[5:] for c in candidates if c.source.startswith("rule:")),
    )


def _allow(assessment: Assessment, previous: Action, source: str, *why: str) -> Decision:
    return Decision(
        action=Action.ALLOW,
        account_id=assessment.account_id,
        cluster_id=assessment.cluster_id,
        reasons=why,
        source=source,
        changed=previous is not Action.ALLOW,
    )
