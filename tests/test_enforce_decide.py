"""Policy files and the pure ``decide``: precedence, stickiness, expiry, cluster budgets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from distillwatch.enforce import (
    EMPTY_STATE,
    Action,
    ActiveAction,
    Assessment,
    EnforcementState,
    Enforcer,
    IndicatorMatch,
    MemoryStore,
    PolicyError,
    decide,
    load_policy,
)
from distillwatch.enforce.bucket import take
from distillwatch.enforce.policy import parse_duration, parse_policy
from distillwatch.enforce.rate_assessor import RateAssessor


def Distinct(*args: Any, **kw: Any) -> Assessment:
    """An assessment of an account with distinctive evidence (score rules may act on it)."""
    return Assessment(*args, distinctive=True, **kw)


def test_score_rules_need_distinctive_evidence(policy) -> None:
    # a judge service or a tutoring app: shared behaviour only, whatever the score
    shared = decide(policy, Assessment("a", score=0.99, cluster_id="C", cluster_score=0.99),
                    EMPTY_STATE, 100.0)  # fmt: skip
    assert shared.allowed
    assert not decide(policy, Distinct("a", score=0.99), EMPTY_STATE, 100.0).allowed
    lenient = parse_policy(
        '[[rule]]\naction = "throttle"\nmin_score = 0.5\nevidence = "any"\n', "t.toml"
    )
    assert not decide(lenient, Assessment("a", score=0.6), EMPTY_STATE, 0.0).allowed
    with pytest.raises(PolicyError, match="evidence"):
        parse_policy('[[rule]]\naction = "block"\nevidence = "some"\n', "t.toml")


POLICY = """
default_action = "allow"
throttle_retry_after = "45s"

[allowlist]
accounts = ["trusted"]
clusters = ["C-partner"]

[cluster_limit]
rate = 1.0
burst = 3
action = "throttle"

[[rule]]
name = "shared"
action = "block"
indicator_kinds = ["ip_prefix"]
ttl = "1h"
scope = "cluster"

[[rule]]
name = "high"
action = "block"
min_score = 0.9
ttl = "10m"

[[rule]]
name = "cot"
action = "challenge"
min_score = 0.5
tactics = ["cot_harvesting"]

[[rule]]
name = "mid"
action = "throttle"
min_score = 0.5
"""


@pytest.fixture
def policy():
    return parse_policy(POLICY, "test.toml")


def test_default_policy_loads_and_has_rules() -> None:
    policy = load_policy()
    assert {r.name for r in policy.rules} >= {"distillation", "suspicious"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[rule]]\nname = "x"\naction = "nuke"\n', "unknown action 'nuke'"),
        ('[[rule]]\nname = "x"\naction = "block"\nmin_scor = 0.5\n', "unknown key(s) ['min_scor']"),
        ('[[rule]]\nname = "x"\naction = "block"\nmin_score = 1.5\n', "within 0..1"),
        ('[[rule]]\nname = "x"\naction = "block"\nttl = "soon"\n', "expected a duration"),
        ("[cluster_limit]\nrate = 0\nburst = 3\n", "'rate' must be a positive number"),
        ('[[rule]]\nname = "a"\naction = "block"\n' * 2, "unique"),
        ("default_action = \n", "not valid TOML"),
    ],
)
def test_bad_policies_name_the_file_and_key(text: str, needle: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "my-policy.toml")
    assert "my-policy.toml" in str(err.value)
    assert needle in str(err.value)


def test_durations() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("1h") == 3600
    assert parse_duration(90) == 90
    with pytest.raises(PolicyError):
        parse_duration("-1s")


def test_rules_map_scores_and_tactics_to_actions(policy) -> None:
    low = decide(policy, Distinct("a", score=0.2), EMPTY_STATE, 100.0)
    assert low.action is Action.ALLOW and not low.changed
    mid = decide(policy, Distinct("a", score=0.6, reasons=["fast"]), EMPTY_STATE, 100.0)
    assert mid.action is Action.THROTTLE and mid.retry_after == 45
    assert mid.reasons[0].startswith("rule mid: score 0.60") and "fast" in mid.reasons
    assert mid.changed and mid.sticky_until is None
    cot = Distinct("a", score=0.6, tactics=["cot_harvesting"])
    challenged = decide(policy, cot, EMPTY_STATE, 100.0, request_id="r1")
    assert challenged.action is Action.CHALLENGE
    assert challenged.reference_id and challenged.reference_id.startswith("DW-")
    assert challenged.rules == ("cot", "mid")  # every firing rule is recorded
    high = decide(policy, Distinct("a", score=0.95), EMPTY_STATE, 100.0)
    assert high.action is Action.BLOCK and high.sticky_until == 100.0 + 600


def test_indicator_rule_blocks_the_whole_cluster(policy) -> None:
    match = IndicatorMatch(source="provider-b", kind="ip_prefix", value="203.0.113.0/24")
    a = Distinct("a", cluster_id="C-1", indicators=[match])
    d = decide(policy, a, EMPTY_STATE, 0.0)
    assert d.action is Action.BLOCK and d.sticky_cluster and d.sticky_until == 3600.0
    assert any("203.0.113.0/24 shared by provider-b" in r for r in d.reasons)
    other_kind = IndicatorMatch(source="provider-b", kind="asn", value="64500")
    assert decide(policy, Distinct("a", indicators=[other_kind]), EMPTY_STATE, 0).allowed


def test_precedence_override_then_allowlist_then_rules(policy) -> None:
    block = ActiveAction(Action.BLOCK, until=200.0, reasons=("fraud desk",), reference_id="DW-X")
    allow = ActiveAction(Action.ALLOW, until=200.0, reasons=("customer escalation",))
    trusted = Distinct("trusted", score=0.99)
    assert decide(policy, trusted, EMPTY_STATE, 100.0).source == "allowlist"
    forced = decide(policy, trusted, EnforcementState(override=block), 100.0)
    assert forced.action is Action.BLOCK and forced.reference_id == "DW-X"
    assert forced.reasons[:2] == ("manual override", "fraud desk")
    unblocked = decide(policy, Distinct("a", score=0.99), EnforcementState(override=allow), 100.0)
    assert unblocked.allowed and unblocked.source == "override"
    partner = Distinct("p", cluster_id="C-partner", score=0.99)
    assert decide(policy, partner, EMPTY_STATE, 100.0).allowed


def test_actions_expire(policy) -> None:
    sticky = ActiveAction(Action.BLOCK, until=200.0, reasons=("old",), source="rule:high")
    state = EnforcementState(account_action=sticky, last_action=Action.BLOCK)
    held = decide(policy, Distinct("a"), state, 199.9)
    assert held.action is Action.BLOCK and not held.changed and held.source == "account"
    expired = decide(policy, Distinct("a"), state, 200.0)
    assert expired.allowed and expired.changed  # block -> allow is a change worth recording
    override = ActiveAction(Action.BLOCK, until=50.0)
    assert decide(policy, Distinct("a"), EnforcementState(override=override), 60).allowed


def test_token_bucket_arithmetic() -> None:
    level, first = take(None, 0.0, 0.0, rate=2.0, burst=2.0)
    assert first.allowed and level == 1.0
    level, second = take(level, 0.0, 0.0, rate=2.0, burst=2.0)
    level, third = take(level, 0.0, 0.0, rate=2.0, burst=2.0)
    assert second.allowed and not third.allowed and third.retry_after == pytest.approx(0.5)
    _, later = take(level, 0.0, 0.5, rate=2.0, burst=2.0)
    assert later.allowed
    _, backwards = take(0.0, 10.0, 5.0, rate=2.0, burst=2.0)  # clock went back: no refill
    assert not backwards.allowed


def test_cluster_limit_is_one_budget_for_all_linked_accounts(policy) -> None:
    """800 accounts of one cluster share the cluster's burst of 3; others are untouched."""
    store = MemoryStore()
    limit = policy.cluster_limit
    actions = []
    for i in range(800):
        a = Distinct(f"acct_{i}", cluster_id="C-hydra", cluster_score=0.9)
        state = store.load_now(a.account_id, a.cluster_id, 1000.0, limit)
        actions.append(decide(policy, a, state, 1000.0))
    allowed = [d for d in actions if d.allowed]
    assert len(allowed) == 3
    refused = actions[3]
    assert refused.action is Action.THROTTLE and refused.source == "cluster_limit"
    assert refused.retry_after == pytest.approx(1.0)
    assert "C-hydra is over its shared budget" in refused.reasons[0]
    loner = Distinct("solo", cluster_id="C-other")
    assert decide(policy, loner, store.load_now("solo", "C-other", 1000.0, limit), 1000.0).allowed
    # one second later the cluster has earned exactly one more request
    later = [
        decide(policy, Distinct(f"acct_{i}", cluster_id="C-hydra"), state, 1001.0)
        for i in range(5)
        for state in [store.load_now(f"acct_{i}", "C-hydra", 1001.0, limit)]
    ]
    assert sum(d.allowed for d in later) == 1


def test_enforcer_remembers_sticky_actions_and_records_changes(policy) -> None:
    changes = []
    scores = iter([0.95, 0.1, 0.1])

    class Fixed:
        def assess(self, record):
            return Distinct(record["account_id"], score=next(scores))

    clock = iter([10.0, 20.0, 700.0])
    store = MemoryStore()
    enforcer = Enforcer(
        policy, Fixed(), store, on_change=lambda d, r: changes.append(d), clock=lambda: next(clock)
    )

    async def run():
        return [
            await enforcer.check({"ts": "x", "account_id": "a", "request_id": f"r{i}"})
            for i in range(3)
        ]

    first, second, third = asyncio.run(run())
    assert first.action is Action.BLOCK
    assert second.action is Action.BLOCK and second.source == "account"  # sticks at score 0.1
    assert second.reference_id == first.reference_id
    assert third.allowed  # ttl 10m ran out
    assert [d.action for d in changes] == [Action.BLOCK, Action.ALLOW]
    assert [row["action"] for row in store.audit] == ["block", "allow"]
    assert store.audit[0]["request_id"] == "r0" and store.audit[0]["reasons"]


def test_rate_assessor_scores_by_rate_and_cluster() -> None:
    assessor = RateAssessor(half_rate=60, cluster_half_rate=120, clusters={"a1": "C", "a2": "C"})
    calm = assessor.assess({"ts": 0, "account_id": "x", "request_id": "r"})
    assert calm.score < 0.05 and calm.cluster_id is None
    last = None
    for i in range(1000):  # 5 requests/s from two linked accounts, for 200 s
        last = assessor.assess({"ts": i * 0.2, "account_id": f"a{i % 2 + 1}", "request_id": "r"})
    assert last is not None and last.cluster_id == "C"
    assert 0.65 < last.score < 0.75  # ~145 requests/min each vs half rate 60
    assert last.cluster_score > 0.65 and any("cluster C" in r for r in last.reasons)


def test_memory_store_forgets_expired_actions_and_idle_buckets(policy) -> None:
    store = MemoryStore()
    store.SWEEP_EVERY = 10
    sticky = decide(policy, Distinct("a", score=0.95), EMPTY_STATE, 0.0)
    store.save_now(sticky, 0.0, None)
    store.load_now("x", "C-1", 0.0, policy.cluster_limit)
    assert store._sticky and store._buckets
    for i in range(10):  # 2 hours later: the 10-minute block and the idle bucket are gone
        store.load_now(f"y{i}", None, 7200.0)
    assert not store._sticky and not store._buckets


def test_a_failing_assessor_does_not_fail_the_request(policy, caplog) -> None:
    class Broken:
        def assess(self, record):
            raise RuntimeError("engine bug")

    enforcer = Enforcer(policy, Broken(), MemoryStore())
    record = {"ts": "x", "account_id": "a", "request_id": "r"}
    decision = asyncio.run(enforcer.check(record))
    assert decision.allowed and decision.account_id == "a"
    assert enforcer.assess_errors == 1 and "assessor failed" in caplog.text
    with pytest.raises(RuntimeError, match="engine bug"):
        asyncio.run(Enforcer(policy, Broken(), MemoryStore(), strict=True).check(record))
