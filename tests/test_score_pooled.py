"""A component's pooled findings: a tool's users are many people, not one proxy pool.

The honest twin is the users of a phone "ask anything" shortcut (``simulate/
lookalikes_byok.py``): new accounts on the app's one client, single questions on any topic,
each on phones in their own country. Joined by their client alone, their pooled networks
looked like a residential proxy pool (4 of 98 flagged), and ten of them joined by client, mail
provider and the app's prompt were called a hydra (10 of 120) before these rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distillwatch.detect.checks.proxy_rotation import (
    ProxyRotation,
    ResidentialProxyRotation,
    RotatingExits,
)
from distillwatch.detect.cluster import HydraCluster
from distillwatch.detect.score import pooled_findings
from distillwatch.scan import run_scan
from sim_kit import simulate_only

POOL = RotatingExits(asns=11, prefixes=28, countries=5)  # as the per-account check finds it
CLUSTER = HydraCluster(accounts=9, requests=900, median_requests=100.0, fresh_share=1.0)


def test_pooled_networks_of_members_who_each_stay_on_few_are_not_evasion() -> None:
    for member_asns in (1.0, 3.0, 3.5, None):
        out = pooled_findings([POOL, CLUSTER], {"member_asns": member_asns})
        assert ProxyRotation(asns=11, prefixes=28) in out
        assert not any(isinstance(f, RotatingExits) for f in out)
        assert CLUSTER in out  # the cluster checks' own findings are untouched


def test_members_who_hop_themselves_keep_the_pooled_evidence() -> None:
    for member_asns in (4.0, 9.0):
        (found,) = pooled_findings([POOL], {"member_asns": member_asns, "accounts": 3})
        assert found == ResidentialProxyRotation(asns=11, prefixes=28, countries=5)
        assert found.distinctive and not POOL.distinctive


def test_two_accounts_that_hop_are_not_a_pool() -> None:
    """A couple on one card, or two phone users paired on a few prompt frames and a mail
    provider, each on a hopping VPN: shared evidence, as one account's rotation is."""
    for accounts in (1, 2, None):
        (found,) = pooled_findings([POOL], {"member_asns": 9.0, "accounts": accounts})
        assert found == ProxyRotation(asns=11, prefixes=28) and not found.distinctive


@pytest.fixture(scope="module")
def shortcut_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Only shortcut users (three apps), new, in many countries, over five days."""
    out = tmp_path_factory.mktemp("shortcut")
    simulate_only(
        "byok_app",
        out / "sim",
        120,
        5,
        21,
        users_per_app=40.0,
        shortcut_share=1.0,
        shortcut_questions=8.0,
        home_market_share=0.3,
        vpn_share=0.5,
        new_share=1.0,
    )
    run_scan([out / "sim"], out / "scan")
    return out / "sim", out / "scan"


def test_shortcut_users_are_harvest_shaped_yet_not_flagged(shortcut_scan: Any) -> None:
    sim, scan = shortcut_scan
    records = [json.loads(line) for line in (sim / "traffic.jsonl").open()]
    assert records and all(len(r["messages"]) == 1 for r in records)  # single questions
    rows = [json.loads(line) for line in (scan / "accounts.jsonl").open()]
    assert len(rows) >= 100
    linked = [r for r in rows if any("rare client" in x for x in r["reasons"])]
    assert linked, "the newcomer link should join some of them (the case this guards)"
    assert not [r["account_id"] for r in rows if r["flagged"]]
