"""Each population's and tactic's defining property, checked on a small simulated run."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from distillwatch.simulate.infra import network
from distillwatch.simulate.scenario import load_scenario
from test_simulate import by_group, small_run


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return small_run(tmp_path_factory)


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def last_user(r: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(r["messages"]) if m["role"] == "user")


KINDS = {a.number: a.kind for a in network().asns}


def test_hydra_accounts_stay_under_the_hourly_cap_and_share_cards(sim: Any) -> None:
    sc = load_scenario()
    caps = [c.params["max_requests_per_hour"] for c in sc.campaigns if c.tactic == "hydra"]
    accts = by_group(sim)["hydra"]
    assert len(accts) >= 10
    for recs in accts.values():
        t = np.sort([epoch(r["ts"]) for r in recs])
        in_hour = np.searchsorted(t, t + 3600.0, side="left") - np.arange(len(t))
        assert in_hour.max() <= max(caps)
        assert len(t) < 24 * max(caps)  # light: under the cap, a few shifts
    cards = Counter(recs[0]["payment_fingerprint"] for recs in accts.values())
    assert len(cards) <= 8 and max(cards.values()) >= 3
    asns = {r["asn"] for recs in accts.values() for r in recs}
    assert len(asns) >= 20 and {KINDS[a] for a in asns} <= {
        "residential",
        "residential_small",
        "mobile",
    }
    start = load_scenario().start_ts
    assert all(epoch(recs[0]["account_created"]) > start - 3 * 86400 for recs in accts.values())


def test_pivot_uses_the_new_model_only_after_release_and_soon(sim: Any) -> None:
    summary, _, _ = sim
    sc = load_scenario(accounts=300, days=3, seed=11)
    within = next(c.params["pivot_within_hours"] for c in sc.campaigns if c.tactic == "pivot")
    for recs in by_group(sim)["pivot"].values():
        new = [epoch(r["ts"]) for r in recs if r["model"] == summary.new_model]
        old = [epoch(r["ts"]) for r in recs if r["model"] != summary.new_model]
        assert new and min(new) >= summary.release_ts
        assert min(new) <= summary.release_ts + within * 3600
        assert not old or max(old) <= min(new)  # a switch, not a mix
    everyone = [r for r in sim[1] if r["model"] == summary.new_model]
    assert all(epoch(r["ts"]) >= summary.release_ts for r in everyone)


def test_logprob_harvest_params(sim: Any) -> None:
    for recs in by_group(sim)["logprob"].values():
        for r in recs:
            p = r["params"]
            assert p["logprobs"] is True and p["top_logprobs"] >= 10
            assert p["max_tokens"] == 1 and p["n"] > 1
            if r["status"] == 200:
                assert r["usage"]["output_tokens"] == p["n"]


def test_batch_jobs_one_template_temperature_zero_cloud(sim: Any) -> None:
    accts = by_group(sim)["batch"]
    assert accts
    for recs in accts.values():
        heads = {last_user(r)[:40] for r in recs}
        assert len(heads) == 1 and len({last_user(r) for r in recs}) > len(recs) // 2
        assert {r["params"]["temperature"] for r in recs} == {0.0}
        assert {KINDS[r["asn"]] for r in recs} == {"cloud"}
        assert len(recs) > 100


def test_casual_users_are_multi_turn_and_diurnal(sim: Any) -> None:
    recs = [r for rs in by_group(sim)["casual"].values() for r in rs]
    assert sum(len(r["messages"]) > 1 for r in recs) > 0.3 * len(recs)
    tz = {"US": -5, "DE": 1, "IN": 5.5, "GB": 0, "JP": 9}
    hours = [(epoch(r["ts"]) / 3600 + tz[r["country"]]) % 24 for r in recs if r["country"] in tz]
    night = sum(2 <= h < 6 for h in hours) / len(hours)
    evening = sum(18 <= h < 22 for h in hours) / len(hours)
    assert evening > 3 * night


def test_coding_agents_carry_tools_tool_results_and_long_system_prompts(sim: Any) -> None:
    for recs in by_group(sim)["coding_agent"].values():
        assert all(r["tools"] and len(r["system"]) > 1000 for r in recs)
        assert len({r["system"] for r in recs}) == 1
        assert any(m["role"] == "tool" for r in recs for m in r["messages"])
        gaps = np.diff(np.sort([epoch(r["ts"]) for r in recs]))
        assert np.median(gaps) < 30  # bursts of fast calls


def test_reseller_mix_hides_extraction_in_genuine_traffic(sim: Any) -> None:
    (recs,) = by_group(sim)["reseller_mix"].values()
    multi = sum(len(r["messages"]) > 1 for r in recs) / len(recs)
    assert multi > 0.2  # genuine end-user conversations dominate ...
    sweep = sum(
        "step" in last_user(r).lower()
        or "Task category" in last_user(r)
        or "expert" in last_user(r)
        for r in recs
    )
    assert 0.02 < sweep / len(recs) < 0.6  # ... with an extraction share mixed in


def test_slow_and_low_accounts_are_aged_light_and_human_timed(sim: Any) -> None:
    start = load_scenario().start_ts
    for recs in by_group(sim)["slow_low"].values():
        assert epoch(recs[0]["account_created"]) < start - 300 * 86400
        assert len(recs) < 40 * 3
        t = np.sort([epoch(r["ts"]) for r in recs])
        if len(t) > 3:
            assert np.std(np.diff(t)) > 60  # irregular, not a metronome


def test_cot_prompts_are_paraphrased_not_one_string(sim: Any) -> None:
    prompts = [last_user(r) for rs in by_group(sim)["cot"].values() for r in rs]
    asks = Counter(p.strip().split("\n")[-1][:60] for p in prompts)
    assert len(asks) > 30 and max(asks.values()) < 0.2 * len(prompts)


def test_grading_and_tool_trace_and_multilingual(sim: Any) -> None:
    g = by_group(sim)
    grade = [last_user(r) for rs in g["grading"].values() for r in rs]
    assert all("Response A" in p for p in grade)
    tool_sets = {
        tuple(t["function"]["name"] for t in r["tools"])
        for rs in g["tool_trace"].values()
        for r in rs
    }
    assert len(tool_sets) > 20
    for recs in g["multilingual"].values():
        texts = [last_user(r) for r in recs]
        assert sum(not t.isascii() for t in texts) > 0.3 * len(texts)


def test_researchers_and_evals_are_busy_but_benign(sim: Any) -> None:
    g = by_group(sim)
    lp = [r for rs in g["researcher"].values() for r in rs if r["params"].get("logprobs")]
    assert lp, "some researchers use logprobs"
    evals = [r for rs in g["eval"].values() for r in rs]
    assert len({r["model"] for r in evals}) >= 2
    assert {r["params"]["temperature"] for r in evals} == {0.0}
