"""The online engine scores accounts as the scan does: a calibrated probability over the
findings and behaviour, never below the distinctive evidence -- not a noisy-OR of findings
honest products share, which saturated for phone-app users on throw-away mail."""

from __future__ import annotations

from typing import Any

from builders import SWEEP, record
from distillwatch.enforce.decide import decide
from distillwatch.enforce.decision import Action, EnforcementState
from distillwatch.enforce.policy import load_policy
from distillwatch.online import OnlineEngine

COT = " Explain your reasoning step by step before giving the final answer."


def _asker(account: str, i: int, **fields: Any) -> dict[str, Any]:
    return record(
        account,
        i,
        SWEEP[i % len(SWEEP)] + COT,
        i * 300.0,
        email_domain="mailinator.com",
        account_created="2026-11-02T00:00:00Z",
        user_agent="ask-anything/2.1 (iPhone)",
        **fields,
    )


def _action(assessment: Any) -> Action:
    """What the built-in default policy does with the assessment."""
    return decide(load_policy(), assessment, EnforcementState(), now=0.0).action


def test_one_throwaway_account_asking_anything_is_ranked_not_refused() -> None:
    engine = OnlineEngine()
    for i in range(60):
        last = engine.assess(_asker("solo", i, ip="198.51.100.7", asn=64500, country="DE"))
    assert last.distinctive  # the disposable sign-up: it may let a high score act ...
    assert 0.0 < last.score < 0.5  # ... but a lone asker's shared behaviour is no high score
    assert any("disposable" in r for r in last.reasons)
    assert _action(last) is Action.ALLOW


def test_the_same_asks_from_linked_throwaway_accounts_are_acted_on() -> None:
    engine = OnlineEngine()
    for i in range(20):
        for a in range(4):
            last = engine.assess(_asker(f"kit-{a}", i, ip="198.51.100.7", asn=64500, country="DE"))
    assert last.cluster_id is not None
    assert last.distinctive and last.score >= 0.5
    assert _action(last) is not Action.ALLOW
