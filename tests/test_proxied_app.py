"""Users of one phone app in a region the provider does not serve, through a proxy service.

The honest twin of a hydra's residential proxy pool (``simulate/lookalikes_byok.py``,
``proxied_app``): new accounts on the app's one client, every request through the service's
current exit. Before the group rule read what the group sends, 54 of 116 such users (two
chat apps behind rotating residential exits) were flagged as a hydra: linked on the client,
the persona and the service's exits, each member hopping networks as a pool's accounts do;
and 82 of 118 users of "ask anything" shortcuts behind such exits were, before it asked for a
harvest's kit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from distillwatch.detect.checks.automation import HeavySingleShot
from distillwatch.detect.checks.capability_sweep import CapabilitySweep
from distillwatch.detect.checks.instruction_frames import ManyWrappedSweep
from distillwatch.detect.checks.proxy_rotation import (
    ProxyRotation,
    ResidentialProxyRotation,
    RotatingExits,
)
from distillwatch.detect.cluster import CohortCluster, HydraCheck, HydraCluster, harvest_kit
from distillwatch.detect.score import pooled_findings
from distillwatch.online.replay import replay_enriched
from distillwatch.scan import run_scan
from distillwatch.simulate import load_scenario
from distillwatch.simulate.engine import BEHAVIOURS
from distillwatch.simulate.lookalikes_byok import BYOK_LOOKALIKES
from sim_kit import simulate_only
from test_simulate_identity_lookalikes import prefix

POOL = RotatingExits(asns=11, prefixes=28, countries=5)
#: a group of nine new, light accounts whose typical member hops five networks through
#: exits that do not come back
GROUP = {
    "accounts": 9,
    "organisations": 9,
    "requests": 900,
    "median_requests": 100.0,
    "fresh_share": 1.0,
    "asns": 40,
    "member_asns": 5.0,
    "prefix_recurrence": 0.0,
}


def _simulate(out: Path, **spec: Any) -> Path:
    """Only proxied-app users: 120 new accounts over five days, three apps."""
    simulate_only(
        "proxied_app", out, 120, 5, 21, **{"users_per_app": 40.0, "new_share": 1.0, **spec}
    )
    return out


def _records(sim: Path) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in (sim / "traffic.jsonl").open():
        r = json.loads(line)
        by[r["account_id"]].append(r)
    return by


@pytest.fixture(scope="module")
def chat_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Chat apps behind rotating residential exits: the case the group rule is for."""
    out = tmp_path_factory.mktemp("proxied")
    sim = _simulate(out / "sim", rotating_share=1.0, shortcut_share=0.0)
    run_scan([sim], out / "scan", keep_work=True)
    return sim, out / "scan"


def test_registered_and_off_by_default() -> None:
    assert BEHAVIOURS["proxied_app"] is BYOK_LOOKALIKES["proxied_app"]
    shares = {p.name: p.share for p in load_scenario().populations}
    assert shares.get("proxied_app", 0.0) == 0.0


def test_rotating_users_hop_through_exits_that_do_not_come_back(chat_scan: Any) -> None:
    sim, _ = chat_scan
    busy = [recs for recs in _records(sim).values() if len(recs) >= 10]
    assert len(busy) >= 20
    assert np.median([len({r["asn"] for r in recs}) for recs in busy]) >= 4
    # a fresh exit every few hours: many more prefixes than a phone's
    assert np.median([len({prefix(r["ip"]) for r in recs}) for recs in busy]) >= 5
    turns = [np.mean([len(r["messages"]) > 1 for r in recs]) for recs in busy]
    assert np.median(turns) >= 0.4  # people chatting


def test_vpn_node_users_share_the_service_nodes_and_come_back(tmp_path: Path) -> None:
    sim = _simulate(tmp_path / "sim", rotating_share=0.0, users_per_app=60.0)
    by_app: dict[str, set[str]] = defaultdict(set)
    repeats = []
    for recs in _records(sim).values():
        ips = [r["ip"] for r in recs]
        by_app[recs[0]["user_agent"]].update(ips)
        if len(recs) >= 10:
            repeats.append(len(set(ips)) < len(ips))
    assert repeats and np.mean(repeats) >= 0.8  # nodes come back
    assert all(len(ips) <= 40 for ips in by_app.values())  # one service's node list per app


def test_chat_users_behind_a_rotating_pool_are_linked_yet_not_flagged(chat_scan: Any) -> None:
    _, scan = chat_scan
    rows = [json.loads(line) for line in (scan / "accounts.jsonl").open()]
    assert len(rows) >= 100
    linked = [r for r in rows if any("other accounts" in x for x in r["reasons"])]
    assert len(linked) >= 30, "the app's users should be linked (the case this guards)"
    assert not [r["account_id"] for r in rows if r["flagged"]]


def test_chat_users_behind_a_rotating_pool_are_not_refused_online(chat_scan: Any) -> None:
    _, scan = chat_scan
    out = scan.parent / "replay"
    replay_enriched(scan / "_work" / "enriched.parquet", out)
    rows = [json.loads(line) for line in (out / "replay-accounts.jsonl").open()]
    assert sum(r["requests"] for r in rows) >= 1000
    assert sum(r["refused"] for r in rows) == 0


def test_a_group_that_sends_a_kit_through_hopping_members_is_a_pool() -> None:
    for facts in (
        {**GROUP, "kit": True},
        # a fake earlier turn on every request does not hide a harvest
        {**GROUP, "kit": True, "multi_turn_share": 1.0},
        GROUP,  # unknown counts as a kit
    ):
        (found,) = pooled_findings([POOL], facts)
        assert found == ResidentialProxyRotation(asns=11, prefixes=28, countries=5)
        (hydra,) = HydraCheck().score_one(facts)
        assert isinstance(hydra, HydraCluster) and hydra.distinctive


def test_plain_prompts_through_hopping_members_are_not_a_pool() -> None:
    """An app's users behind a rotating pool, chatting or asking single questions: no kit,
    no pool."""
    for multi in (0.0, 0.6):
        facts = {**GROUP, "multi_turn_share": multi, "kit": False}
        (found,) = pooled_findings([POOL], facts)
        assert found == ProxyRotation(asns=11, prefixes=28) and not found.distinctive
        (cohort,) = HydraCheck().score_one(facts)
        assert isinstance(cohort, CohortCluster) and not cohort.distinctive


def test_what_counts_as_a_kit() -> None:
    assert harvest_kit([ManyWrappedSweep(frames=6, requests=300)])
    assert harvest_kit([HeavySingleShot(per_day=900.0, hours_of_day=24)])
    assert not harvest_kit([CapabilitySweep(capabilities=8, entropy=2.6, single_turn=1.0)])
    assert not harvest_kit([POOL])


def test_shortcut_users_behind_a_rotating_pool_are_not_flagged(tmp_path: Path) -> None:
    sim = _simulate(tmp_path / "sim", rotating_share=1.0, shortcut_share=1.0)
    run_scan([sim], tmp_path / "scan")
    rows = [json.loads(line) for line in (tmp_path / "scan" / "accounts.jsonl").open()]
    sweeps = [r for r in rows if any("single-turn prompts" in x for x in r["reasons"])]
    assert len(sweeps) >= 30, "their questions should read as a broad single-shot sweep"
    assert any("other accounts" in x for r in rows for x in r["reasons"])
    assert not [r["account_id"] for r in rows if r["flagged"]]
