"""Weaker attack variants: each knob changes what it says, on a small simulated run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from distillwatch.simulate import ScenarioError, load_scenario, simulate
from distillwatch.simulate.phrasing import _COT_ASK, _GRADE_ASK
from test_simulate import by_group, read_log
from test_simulate_behaviour import epoch, last_user

VARIANTS = """
[simulation]
accounts = 60
days = 1.0
seed = 4

[[campaigns]]
tactic = "cot"
accounts = 3
requests_per_day = 300.0
elicit_share = 0.5
system_prompt_share = 0.5

[[campaigns]]
tactic = "tool_trace"
accounts = 2
requests_per_day = 300.0
toolset_pool = 2
tool_results_share = 0.5

[[campaigns]]
tactic = "grading"
accounts = 2
requests_per_day = 300.0
rubric_templates = 2

[[campaigns]]
tactic = "logprob"
accounts = 2
requests_per_day = 300.0
tiny_share = 0.5
n = 1

[[campaigns]]
tactic = "multilingual"
accounts = 2
requests_per_day = 200.0
timing = "human"
think_median_s = 30.0
network = "home"
repeat_share = 0.0
languages = 4

[[campaigns]]
tactic = "hydra"
accounts = 6
payment_fingerprints = 0
countries = 1
exit_hours = 6.0

[[campaigns]]
tactic = "pivot"
accounts = 2
new_model_share = 0.5
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("variants")
    path = out / "variants.toml"
    path.write_text(VARIANTS)
    summary = simulate(load_scenario(path), out / "run")
    labels = {r["account_id"]: r for r in read_log(out / "run/labels.jsonl")}
    return summary, read_log(summary.files["traffic"]), labels


def test_cot_elicit_share_and_persona(sim: Any) -> None:
    recs = [r for rs in by_group(sim)["cot"].values() for r in rs]
    asked = np.mean([any(a in last_user(r) for a in _COT_ASK) for r in recs])
    assert 0.35 < asked < 0.65
    with_system = np.mean(["system" in r for r in recs])
    assert 0.35 < with_system < 0.65
    for rs in by_group(sim)["cot"].values():
        assert len({r["system"] for r in rs if "system" in r}) == 1  # one app persona


def test_toolset_pool_and_fabricated_results(sim: Any) -> None:
    for rs in by_group(sim)["tool_trace"].values():
        assert len({orjson.dumps(r["tools"]) for r in rs}) == 2
        answered = [r for r in rs if any(m["role"] == "tool" for m in r["messages"])]
        assert 0.3 < len(answered) / len(rs) < 0.7
        ok = [r for r in answered if r["status"] == 200]
        assert ok and all(r["response"]["finish_reason"] == "stop" for r in ok)


def test_rubric_templates_fix_the_judge_phrasing(sim: Any) -> None:
    for rs in by_group(sim)["grading"].values():
        asks = {a for r in rs for a in _GRADE_ASK if a in last_user(r)}
        assert 1 <= len(asks) <= 2 and len(rs) > 50


def test_tiny_share_mixes_one_token_and_ordinary_requests(sim: Any) -> None:
    recs = [r for rs in by_group(sim)["logprob"].values() for r in rs]
    tiny = np.mean([r["params"]["max_tokens"] == 1 for r in recs])
    assert 0.35 < tiny < 0.65
    assert all(r["params"]["logprobs"] and r["params"]["n"] == 1 for r in recs)


def test_human_timing_makes_sessions(sim: Any) -> None:
    for rs in by_group(sim)["multilingual"].values():
        t = np.sort([epoch(r["ts"]) for r in rs])
        gaps = np.diff(t)
        assert np.median(gaps) < 120  # think-time gaps inside sessions
        assert gaps.max() > 1800  # and pauses between them


def test_hydra_one_card_per_account_exits_in_one_country(sim: Any) -> None:
    accts = by_group(sim)["hydra"]
    assert len({rs[0]["payment_fingerprint"] for rs in accts.values()}) == len(accts)
    assert len({r["country"] for rs in accts.values() for r in rs}) == 1
    for rs in accts.values():
        t = [epoch(r["ts"]) for r in rs]
        span_h = (max(t) - min(t)) / 3600
        assert len({r["ip"] for r in rs}) <= span_h / 6 + 1


def test_pivot_new_model_share_moves_part_of_the_traffic(sim: Any) -> None:
    summary, _, _ = sim
    for rs in by_group(sim)["pivot"].values():
        new = [epoch(r["ts"]) for r in rs if r["model"] == summary.new_model]
        assert new
        after = [r for r in rs if epoch(r["ts"]) > min(new)]
        share = np.mean([r["model"] == summary.new_model for r in after])
        assert 0.3 < share < 0.75


@pytest.mark.parametrize(
    ("line", "needle"),
    [('timing = "sometimes"', "timing"), ("elicit_share = 1.5", "elicit_share")],
)
def test_bad_variant_values_name_the_key(tmp_path: Path, line: str, needle: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'[[campaigns]]\ntactic = "cot"\naccounts = 1\n{line}\n')
    with pytest.raises(ScenarioError, match=needle):
        load_scenario(path)
