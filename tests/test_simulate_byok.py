"""The bring-your-own-key phone app look-alike: new accounts, on phones, one client per app."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from distillwatch.simulate import load_scenario, simulate
from distillwatch.simulate.engine import BEHAVIOURS
from distillwatch.simulate.lookalikes_byok import BYOK_LOOKALIKES
from distillwatch.simulate.scenario import PopulationSpec
from distillwatch.simulate.scenario_defaults import POPULATION_DEFAULTS
from test_simulate import read_log
from test_simulate_identity_lookalikes import epoch, prefix


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Only BYOK app users: 80 accounts over 4 days, their records by account."""
    spec = {**POPULATION_DEFAULTS["byok_app"], "share": 1.0, "users_per_app": 20.0}
    base = load_scenario(accounts=80, days=4, seed=11, format="jsonl")
    sc = dataclasses.replace(
        base, populations=(PopulationSpec("byok_app", 1.0, spec),), campaigns=()
    )
    out = tmp_path_factory.mktemp("byok")
    summary = simulate(sc, out)
    labels = {r["account_id"]: r for r in read_log(out / "labels.jsonl")}
    assert {lab["label"] for lab in labels.values()} == {"benign"}
    assert {lab["population"] for lab in labels.values()} == {"byok_app"}
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in read_log(summary.files["traffic"]):
        by[r["account_id"]].append(r)
    return by


def test_registered_and_off_by_default() -> None:
    assert BEHAVIOURS["byok_app"] is BYOK_LOOKALIKES["byok_app"]
    shares = {p.name: p.share for p in load_scenario().populations}
    assert shares.get("byok_app", 0.0) == 0.0


def test_each_app_has_one_client_and_persona_shared_by_its_users(users: Any) -> None:
    by_agent: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for recs in users.values():
        assert len({r.get("user_agent") for r in recs}) == 1
        by_agent[recs[0]["user_agent"]].append(recs)
    assert 3 <= len(by_agent) <= 5  # 80 users, about 20 per app
    for accts in by_agent.values():
        systems = {r.get("system") for recs in accts for r in recs}
        assert len(systems) == 1 and None not in systems
        cards = {recs[0].get("payment_fingerprint") for recs in accts}
        assert len(cards) == len(accts)  # each user pays for their own key


def test_most_users_are_new_and_on_several_networks_of_phones(users: Any) -> None:
    new = [
        epoch(recs[0]["account_created"]) > epoch(recs[0]["ts"]) - 7 * 86400
        for recs in users.values()
    ]
    assert np.mean(new) >= 0.6
    busy = [recs for recs in users.values() if len(recs) >= 10]
    assert len(busy) >= 20
    assert np.median([len({prefix(r["ip"]) for r in recs}) for recs in busy]) >= 3
    assert np.median([len({r["asn"] for r in recs}) for recs in busy]) >= 2
    # people chatting: most requests carry a conversation
    turns = [np.mean([len(r["messages"]) > 1 for r in recs]) for recs in busy]
    assert np.median(turns) >= 0.4
