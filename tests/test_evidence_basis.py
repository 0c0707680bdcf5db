"""Evidence kinds: shared behaviour raises a score but never flags; distinctive evidence
(coordination, fraud, evasion, harvest structure) is what a flag needs -- and each kind stays
quiet on the honest look-alike that motivates it."""

from typing import Any

import polars as pl

from distillwatch.detect.checks.automation import AutomationCheck, DisposableSignup
from distillwatch.detect.checks.harvest_structure import HarvestStructureCheck
from distillwatch.detect.checks.proxy_rotation import (
    ProxyRotationCheck,
    ResidentialProxyRotation,
    RotatingExits,
)
from distillwatch.detect.cluster import (
    CohortCluster,
    DisposableCardCheck,
    HydraCheck,
    HydraCluster,
)
from distillwatch.detect.evidence import Basis, any_distinctive, strongest_first
from distillwatch.detect.identity import is_disposable, with_identity
from test_checks import CASES, HARVEST, row


def test_only_the_named_kinds_are_distinctive() -> None:
    distinctive = set()
    for check, attack, _ in CASES:
        distinctive |= {f.kind for f in check().score_one(attack) if f.distinctive}
    # every per-account behaviour tried has an honest twin: all of it stays shared
    assert distinctive == set()
    assert ResidentialProxyRotation(10, 30, 5).basis is Basis.EVASION
    assert DisposableSignup(age_days=1.0).basis is Basis.FRAUD


def test_tutoring_judge_and_comparison_runs_are_not_harvest_structure() -> None:
    check = HarvestStructureCheck()
    found = check.score_one(HARVEST)
    # a tutoring app without a system prompt sends exactly this: listed, never flags alone
    assert found and not any_distinctive(found)
    assert not check.score_one({**HARVEST, "system_share": 0.8})  # a product's system prompt
    assert not check.score_one({**HARVEST, "replayed_share": 0.8})  # evaluation across models
    assert not check.score_one({**HARVEST, "templates": 50})  # a judge's fixed rubric
    assert not check.score_one({**HARVEST, "multi_turn_share": 0.4})  # students follow up
    assert not check.score_one({**HARVEST, "capabilities": 3})  # one subject
    # logprob sampling is what researchers do, grading what judge services do
    sampler = {**HARVEST, "cot_share": 0.0, "logprob_share": 1.0, "multi_n_share": 1.0}
    assert not check.score_one(sampler)
    assert not check.score_one({**HARVEST, "cot_share": 0.0, "grading_share": 1.0})


def test_one_accounts_rotation_is_shared_evidence_whatever_its_networks() -> None:
    """A proxy pool's exits and a privacy tool's (a rotating VPN, Tor) look the same on one
    account: raised, never flagging; only a group of hopping members is evasion."""
    phone_and_vpn = ProxyRotationCheck().score_one(row(asns=7, ip24s=30, countries=3))
    assert phone_and_vpn and not any_distinctive(phone_and_vpn)
    one_country_pool = ProxyRotationCheck().score_one(
        row(asns=12, ip24s=40, countries=1, prefix_recurrence=0.0)
    )
    assert [type(f) for f in one_country_pool] == [RotatingExits]
    pool = ProxyRotationCheck().score_one(
        row(asns=25, ip24s=60, countries=12, prefix_recurrence=0.0)
    )
    assert [type(f) for f in pool] == [RotatingExits]
    assert not any_distinctive(pool)
    assert "12 countries" in str(pool[0]) and "privacy tool" in str(pool[0])
    assert pool[0].weight > ProxyRotationCheck().score_one(row(asns=7, ip24s=30))[0].weight
    # a cloud egress pool in many regions: the same prefixes come back every day
    egress = row(asns=10, ip24s=50, countries=5, prefix_recurrence=0.9)
    found = ProxyRotationCheck().score_one(egress)
    assert found and not any_distinctive(found)
    assert not any(isinstance(f, RotatingExits) for f in found)
    # before any prefix has had a whole day to come back: not evidence of fresh exits
    unknown = ProxyRotationCheck().score_one(row(asns=10, ip24s=50, prefix_recurrence=None))
    assert unknown and not any(isinstance(f, RotatingExits) for f in unknown)


def test_disposable_signup() -> None:
    assert is_disposable("mailinator.com") and is_disposable("eu.mailinator.com")
    assert not is_disposable("gmail.com") and not is_disposable(None)
    fresh = row(account_age_days=1.0, disposable_email=True)
    assert any(f.kind == "DisposableSignup" for f in AutomationCheck().score_one(fresh))
    aged = row(account_age_days=400.0, disposable_email=True)
    assert not any_distinctive(AutomationCheck().score_one(aged))
    frame = with_identity(pl.DataFrame({"email_domain": ["yopmail.com", "acme.io", None]}))
    assert frame["disposable_email"].to_list() == [True, False, False]


HYDRA: dict[str, Any] = {
    "accounts": 40,
    "organisations": 40,
    "median_requests": 60,
    "fresh_share": 0.9,
    "requests": 2400,
    "top_domain_share": 0.5,
    "top_domain_accounts": 5000,  # free mail: everybody uses it
    "top_domain_disposable": False,
    "disposable_share": 0.5,
    "links": {"payment_fingerprint": 40},
}


def test_honest_groups_are_cohorts_and_proxy_rings_are_hydras() -> None:
    proxies = {
        **HYDRA,
        "disposable_share": 0.0,
        "asns": 35,
        "prefix_recurrence": 0.05,
        "member_asns": 7.0,
    }
    assert [type(f) for f in HydraCheck().score_one(proxies)] == [HydraCluster]
    # a new phone app's users: each on a carrier, home Wi-Fi and maybe a VPN, fresh exits,
    # 35 networks together -- but no member hops between more networks than a phone does
    phone_app = {**proxies, "member_asns": 3.0}
    assert [type(f) for f in HydraCheck().score_one(phone_app)] == [CohortCluster]
    # an online course: students at home in 35 networks on free mail, homes that come back
    online_course = {**proxies, "prefix_recurrence": 0.8}
    assert [type(f) for f in HydraCheck().score_one(online_course)] == [CohortCluster]
    # nothing has had a day to come back yet: many networks alone is not evasion
    first_day = {**proxies, "prefix_recurrence": None}
    assert [type(f) for f in HydraCheck().score_one(first_day)] == [CohortCluster]
    throw_away = {**HYDRA, "asns": 1}  # half of it on disposable mail
    assert [type(f) for f in HydraCheck().score_one(throw_away)] == [HydraCluster]
    # a family or an office sharing a card: free or corporate mail, one or two networks
    family = {**HYDRA, "disposable_share": 0.0, "asns": 2}
    found = HydraCheck().score_one(family)
    assert [type(f) for f in found] == [CohortCluster] and not any_distinctive(found)
    # a class whose students work from home: many networks, but the university's own domain
    course = {**proxies, "top_domain_share": 0.95, "top_domain_accounts": 41}
    assert [type(f) for f in HydraCheck().score_one(course)] == [CohortCluster]
    # a disposable domain is nobody's institution
    ring = {**course, "top_domain_disposable": True}
    assert [type(f) for f in HydraCheck().score_one(ring)] == [HydraCluster]


def test_card_rings_need_disposable_mail() -> None:
    assert DisposableCardCheck().score_one(HYDRA)
    family = {**HYDRA, "accounts": 4, "organisations": 4, "disposable_share": 0.0}
    assert not DisposableCardCheck().score_one(family)
    company = {**HYDRA, "organisations": 1}
    assert not DisposableCardCheck().score_one(company)


def test_distinctive_evidence_is_listed_first() -> None:
    shared = CASES[1][0]().score_one(CASES[1][1])
    evasion = [ResidentialProxyRotation(asns=25, prefixes=60, countries=12)]  # a group's
    ordered = strongest_first(shared + evasion)
    assert ordered[0].distinctive and ordered[0].to_dict()["basis"] == "evasion"
