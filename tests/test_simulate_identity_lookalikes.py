"""Honest look-alikes of who / where / when: each shares its attack's surface, labelled benign."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from distillwatch.simulate import load_scenario, simulate
from distillwatch.simulate.corpus import load_corpus
from distillwatch.simulate.infra import network
from distillwatch.simulate.lookalikes_identity import IDENTITY_LOOKALIKES
from distillwatch.simulate.scenario import PopulationSpec
from distillwatch.simulate.scenario_defaults import POPULATION_DEFAULTS
from test_simulate import read_log

SHARES = {
    "cohort": 0.4,
    "shared_card": 0.25,
    "mobile": 0.2,
    "cloud_egress": 0.05,
    "release_eval": 0.1,
}
TWEAKS: dict[str, dict[str, Any]] = {
    "cohort": {"signup_spread_hours": 12.0, "accounts_per_cohort": 15.0},
    "cloud_egress": {"requests_per_day": 150.0},
    "release_eval": {"requests_per_day": 150.0},
}
KINDS = {a.number: a.kind for a in network().asns}
HOUR = 3600.0


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def prefix(ip: str) -> str:
    return ip.rsplit(".", 1)[0]


Recs = list[dict[str, Any]]


def grouped(accounts: dict[str, Recs], key: str) -> dict[str, list[Recs]]:
    """Accounts (their records) grouped by an account-level field."""
    out: dict[str, list[Recs]] = defaultdict(list)
    for recs in accounts.values():
        out[recs[0][key]].append(recs)
    return out


def distinct(accts: list[Recs], key: str) -> int:
    return len({recs[0][key] for recs in accts})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Only the five populations (no attacks): 260 accounts over 4 days."""
    pops = tuple(
        PopulationSpec(k, v, {**POPULATION_DEFAULTS[k], "share": v, **TWEAKS.get(k, {})})
        for k, v in SHARES.items()
    )
    base = load_scenario(accounts=260, days=4, seed=5, format="jsonl")
    sc = dataclasses.replace(base, populations=pops, campaigns=())
    out = tmp_path_factory.mktemp("idsim")
    summary = simulate(sc, out)
    labels = {r["account_id"]: r for r in read_log(out / "labels.jsonl")}
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in read_log(summary.files["traffic"]):
        groups[labels[r["account_id"]]["population"]][r["account_id"]].append(r)
    return sc, summary, labels, groups


def test_registered_and_in_the_default_scenario() -> None:
    from distillwatch.simulate.engine import BEHAVIOURS

    shares = {p.name: p.share for p in load_scenario().populations}
    for name in SHARES:
        assert BEHAVIOURS[name] is IDENTITY_LOOKALIKES[name]
        assert 0.0 < shares[name] <= 0.03


def test_labels_are_benign_with_their_population(run: Any) -> None:
    _, _, labels, groups = run
    assert {lab["label"] for lab in labels.values()} == {"benign"}
    assert {lab["population"] for lab in labels.values()} == set(SHARES)
    assert all(lab["campaign_id"] is None for lab in labels.values())
    assert set(groups) == set(SHARES)


def test_cohorts_sign_up_together_on_one_domain_prefix_and_starter_kit(run: Any) -> None:
    _, _, _, groups = run
    cohorts = grouped(groups["cohort"], "email_domain")
    big = [c for c in cohorts.values() if len(c) >= 4]
    assert len(big) >= 3
    assert all(any(s in d for s in (".edu", ".ac.", "uni-")) for d in cohorts)
    tight = 0
    for accts in big:
        created = [epoch(recs[0]["account_created"]) for recs in accts]
        tight += max(created) - min(created) <= 48 * HOUR
        assert distinct(accts, "org_id") == len(accts)  # no org declared
        # one campus /24 that most of the cohort's accounts use
        users = Counter(p for recs in accts for p in {prefix(r["ip"]) for r in recs})
        top, n_users = users.most_common(1)[0]
        assert n_users >= 0.5 * len(accts)
        assert KINDS[next(r["asn"] for recs in accts for r in recs if prefix(r["ip"]) == top)] == (
            "campus"
        )
    assert tight >= 0.6 * len(big)
    # the same notebook: a system prompt or an opening shared by several accounts
    shared = 0
    for accts in big:
        keys = Counter(
            k
            for recs in accts
            for k in {r.get("system") or r["messages"][0]["content"][:12] for r in recs}
        )
        shared += keys.most_common(1)[0][1] >= 3
    assert shared >= 0.6 * len(big)


def test_shared_cards_without_an_org(run: Any) -> None:
    sc, _, _, groups = run
    cards = grouped(groups["shared_card"], "payment_fingerprint")
    sharing = [c for c in cards.values() if len(c) >= 2]
    assert sum(map(len, sharing)) >= 0.8 * len(groups["shared_card"])
    assert max(map(len, sharing)) >= 4
    for accts in sharing:
        assert distinct(accts, "org_id") == len(accts)
    # company teams share a corporate domain; families use free mail
    one_domain = [distinct(c, "email_domain") == 1 for c in sharing]
    assert any(one_domain) and not all(one_domain)
    assert any(epoch(r[0]["account_created"]) >= sc.start_ts for c in sharing for r in c)


def test_mobile_people_span_carriers_prefixes_and_vpns(run: Any) -> None:
    _, _, _, groups = run
    busy = [recs for recs in groups["mobile"].values() if len(recs) >= 15]
    assert len(busy) >= 10
    asns = [len({r["asn"] for r in recs}) for recs in busy]
    prefixes = [len({prefix(r["ip"]) for r in recs}) for recs in busy]
    assert np.median(asns) >= 2 and max(asns) >= 4
    assert np.median(prefixes) >= 3 and max(prefixes) >= 6
    kinds = {KINDS[r["asn"]] for recs in groups["mobile"].values() for r in recs}
    assert {"carrier", "mobile", "vpn"} <= kinds
    assert any(len({r["country"] for r in recs}) >= 2 for recs in busy)


def test_cloud_egress_many_prefixes_few_cloud_asns_heavy(run: Any) -> None:
    sc, _, _, groups = run
    asns_max = POPULATION_DEFAULTS["cloud_egress"]["asns_max"]
    accts = list(groups["cloud_egress"].values())
    assert len(accts) >= 8
    for recs in accts:
        asns = {r["asn"] for r in recs}
        assert 1 <= len(asns) <= asns_max
        assert {KINDS[a] for a in asns} <= {"cloud", "hyperscale"}
        assert len({r.get("system") for r in recs}) == 1  # one product template
    prefixes = [len({prefix(r["ip"]) for r in recs}) for recs in accts]
    assert np.median(prefixes) >= 8 and max(prefixes) >= 15
    assert np.median([len(recs) / sc.days for recs in accts]) >= 50


def test_release_eval_moves_to_the_new_model_within_hours(run: Any) -> None:
    sc, summary, _, groups = run
    within = POPULATION_DEFAULTS["release_eval"]["switch_within_hours"] * HOUR
    items = {t for pool in load_corpus(sc.corpora).benchmarks.values() for t in pool}
    before = after = 0
    for recs in groups["release_eval"].values():
        t = np.array([epoch(r["ts"]) for r in recs])
        new = np.array([r["model"] == summary.new_model for r in recs])
        assert new.any() and t[new].min() >= summary.release_ts
        assert t[new].min() <= summary.release_ts + within
        late = t >= t[new].min()
        assert new[late].mean() >= 0.4  # most traffic on the new model after the switch
        assert all(r["params"]["temperature"] == 0.0 for r in recs)
        texts = [r["messages"][0]["content"] for r in recs[:50]]
        assert all(x in items or x.rsplit("\n\n", 1)[0] in items for x in texts)
        before += ((t >= summary.release_ts - 12 * HOUR) & (t < summary.release_ts)).sum()
        after += ((t >= summary.release_ts) & (t < summary.release_ts + 12 * HOUR)).sum()
    assert after > 2 * before  # the launch-day burst


@pytest.mark.parametrize("n,mean,least", [(5, 4.0, 3), (7, 4.0, 3), (40, 6.0, 2), (3, 8.0, 3)])
def test_group_sizes_add_up_and_respect_the_least(n: int, mean: float, least: int) -> None:
    """Small populations split into groups: every size at least ``least``, summing to ``n``
    (a remainder once raised IndexError, or joined the wrong group, in most seeds)."""
    from distillwatch.simulate.lookalike_accounts import group_sizes

    for seed in range(200):
        sizes = group_sizes(np.random.default_rng(seed), n, mean, least)
        assert sum(sizes) == n and min(sizes) >= least, (seed, sizes)
