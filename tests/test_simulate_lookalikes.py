"""Honest look-alike populations: each has the per-request surface of an attack tactic."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from distillwatch.simulate import load_scenario, simulate
from distillwatch.simulate.lookalike_text import WRAPPER_FRAMES
from distillwatch.simulate.lookalikes import LOOKALIKES
from distillwatch.simulate.phrasing import ANSWER_IN, LANGUAGES
from distillwatch.simulate.scenario_defaults import POPULATION_DEFAULTS
from test_simulate import by_group, read_log
from test_simulate_behaviour import epoch, last_user

NAMES = (
    "judge",
    "tutoring",
    "wrapper_app",
    "localisation",
    "classifier",
    "sampler",
    "tool_eval",
    "synthetic_data",
)
SIMULATE = Path(__file__).parents[1] / "src/distillwatch/simulate"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two days of only the look-alike populations (no other populations, no campaigns)."""
    out = tmp_path_factory.mktemp("lookalikes")
    lines = ["campaigns = []"]
    for name in POPULATION_DEFAULTS:
        lines.append(f"[populations.{name}]\nshare = {0.1 if name in NAMES else 0.0}")
    path = out / "only.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = simulate(load_scenario(path, accounts=200, days=2, seed=5, format="jsonl"), out)
    labels = {r["account_id"]: r for r in read_log(out / "labels.jsonl")}
    return summary, read_log(summary.files["traffic"]), labels


@pytest.fixture(scope="module")
def groups(sim: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    return by_group(sim)


def records(groups: Any, name: str) -> list[dict[str, Any]]:
    return [r for rs in groups[name].values() for r in rs]


def test_registered_with_defaults_and_a_small_real_default_share() -> None:
    assert set(LOOKALIKES) == set(NAMES)
    sc = load_scenario()
    shares = {p.name: p.share for p in sc.populations}
    assert all(0.005 <= shares[n] <= 0.03 for n in NAMES)
    assert 0.08 <= sum(shares[n] for n in NAMES) / sum(shares.values()) <= 0.12


def test_every_account_is_benign_with_its_population(sim: Any, groups: Any) -> None:
    _, recs, labels = sim
    assert set(groups) == set(NAMES)
    for lab in labels.values():
        assert lab["label"] == "benign" and lab["population"] in NAMES
        assert lab["campaign_id"] is None and "tactic" not in lab
    assert len(recs) > 5000


def test_judge_grades_own_answers_with_a_fixed_rubric_at_temperature_zero(groups: Any) -> None:
    ask = re.compile(r"score|rate|rating|judge|better|verdict|PASS|prefer|rubric", re.I)
    systems = set()
    for recs in groups["judge"].values():
        assert all(len(r["messages"]) == 1 and ask.search(last_user(r)) for r in recs)
        assert {r["params"]["temperature"] for r in recs} == {0.0}
        systems |= {r.get("system") for r in recs}
        if len(recs) > 20:  # batch runs: bursts of requests seconds apart
            assert np.median(np.diff(np.sort([epoch(r["ts"]) for r in recs]))) < 30
    assert any(s and "impartial judge" in s for s in systems)
    prompts = [last_user(r) for r in records(groups, "judge")]
    assert len(set(prompts)) > 0.9 * len(prompts)  # the payload varies, not the rubric only


def test_tutoring_asks_for_steps_mostly_single_shot_with_long_answers(groups: Any) -> None:
    step = re.compile(r"step|working|reasoning|thinking", re.I)
    for recs in groups["tutoring"].values():
        firsts = [r["messages"][0]["content"] for r in recs]
        assert sum(bool(step.search(f)) for f in firsts) >= 0.6 * len(firsts)
    recs = records(groups, "tutoring")
    assert sum(len(r["messages"]) == 1 for r in recs) > 0.5 * len(recs)
    assert any(len(r["messages"]) > 1 for r in recs)  # some students follow up
    assert np.median([r["usage"]["output_tokens"] for r in recs if r["status"] == 200]) > 300
    with_system = {a for a, rs in groups["tutoring"].items() if rs[0].get("system")}
    assert 0 < len(with_system) < len(groups["tutoring"]) or len(groups["tutoring"]) < 5
    asks = Counter(last_user(r)[-60:] for r in recs if len(r["messages"]) == 1)
    assert max(asks.values()) < 0.1 * len(recs)  # phrasing varies


def test_wrapper_apps_wrap_unrelated_tasks_in_several_fixed_frames(groups: Any) -> None:
    heads = [f.split("{")[0] for f, _ in WRAPPER_FRAMES]
    for recs in groups["wrapper_app"].values():
        assert all(len(r["messages"]) == 1 for r in recs)
        used = {h for r in recs for h in heads if h in last_user(r)}
        assert used and all(any(h in last_user(r) for h in heads) for r in recs)
        if len(recs) > 100:
            assert len(used) >= 3


def test_classifier_reads_one_token_logprobs_on_one_template(groups: Any) -> None:
    for recs in groups["classifier"].values():
        for r in recs:
            p = r["params"]
            assert p["max_tokens"] == 1 and p["logprobs"] is True
            assert 5 <= p["top_logprobs"] <= 20 and p["temperature"] == 0.0
        assert len({last_user(r)[:30] for r in recs}) == 1
        assert len({last_user(r) for r in recs}) > 0.5 * min(len(recs), 1000)  # many payloads


def test_sampler_draws_several_samples_at_high_temperature(groups: Any) -> None:
    recs = records(groups, "sampler")
    assert recs
    for r in recs:
        p = r["params"]
        assert 4 <= p["n"] <= 16 and 0.7 <= p["temperature"] <= 1.2
        if r["status"] == 200:
            assert r["usage"]["output_tokens"] % p["n"] == 0
    assert len({r["params"]["n"] for r in recs}) > 1


def _languages(r: dict[str, Any]) -> set[str]:
    text = f"{r.get('system') or ''}\n{last_user(r)}"
    found = {c for c, name in LANGUAGES.items() if c != "en" and name in text}
    return found | {c for c, prefix in ANSWER_IN.items() if prefix in text}


def test_localisation_serves_eight_or_more_languages(groups: Any) -> None:
    busy = [rs for rs in groups["localisation"].values() if len(rs) >= 150]
    assert busy
    for recs in busy:
        langs = set().union(*(_languages(r) for r in recs))
        assert len(langs) >= 8  # names quoted in texts can add a few


def test_tool_eval_sends_tools_without_results_and_replays_items(groups: Any) -> None:
    replayed = 0
    for recs in groups["tool_eval"].values():
        assert all(r["tools"] for r in recs)
        assert all(len(r["messages"]) == 1 and r["messages"][0]["role"] == "user" for r in recs)
        assert len({tuple(t["function"]["name"] for t in r["tools"]) for r in recs}) > 1
        models_of: dict[str, set[str]] = {}
        for r in recs:
            models_of.setdefault(last_user(r), set()).add(r["model"])
        replayed += sum(len(m) > 1 for m in models_of.values())
    assert replayed > 0  # benchmark items are sent to more than one model


def test_synthetic_data_is_high_volume_few_templates_round_the_clock(groups: Any) -> None:
    for recs in groups["synthetic_data"].values():
        assert all(len(r["messages"]) == 1 for r in recs)
        assert len({last_user(r)[:25] for r in recs}) <= 9
    per_account = [len(rs) / 2 for rs in groups["synthetic_data"].values()]
    assert np.median(per_account) > 50
    hours = {int(epoch(r["ts"]) // 3600) % 24 for r in records(groups, "synthetic_data")}
    assert len(hours) == 24


def test_lookalike_modules_import_nothing_of_detection() -> None:
    for name in ("lookalikes.py", "lookalikes_batch.py", "lookalike_text.py"):
        tree = ast.parse((SIMULATE / name).read_text(encoding="utf-8"))
        mods = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        ours = [m for m in mods if m.startswith("distillwatch")]
        assert all(m.startswith("distillwatch.simulate") for m in ours)
