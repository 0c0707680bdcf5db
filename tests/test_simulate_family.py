"""Scenario families: deterministic draws, ranges, presence, clear errors, CLI --family/--draw."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.simulate import ScenarioError, draw_scenario, load_scenario
from distillwatch.simulate.family import load_family

FAMILIES = Path(__file__).parents[1] / "benchmarks/scenarios/families"

SMALL = """
[family]
name = "small"
release_at = [0.3, 0.7]

[simulation]
accounts = [200, 400]
days = [1.0, 3.0]
start = { choice = ["2026-01-05T00:00:00Z", "2026-07-01T00:00:00Z"] }

[populations.casual]
share = [0.05, 5.0]
turns_mean = [2.0, 3.0]

[populations.batch]
present = 0.5
share = [0.01, 0.1]
items_per_run = [10, 2000]
accounts_per_org = { choice = [1, 3], weights = [1, 3] }

[[campaigns]]
id = "h"
tactic = "hydra"
share = [0.02, 0.04]
max_requests_per_hour = [2, 20]

[[campaigns]]
id = "maybe"
tactic = "cot"
present = 0.5
accounts = [1, 3]
timing = { choice = ["flat", "human"] }
"""


def family(tmp_path: Path, text: str = SMALL, name: str = "f.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_draws_are_deterministic_and_differ(tmp_path: Path) -> None:
    path = family(tmp_path)
    assert draw_scenario(path, 3).to_toml() == draw_scenario(path, 3).to_toml()
    tomls = {draw_scenario(path, k).to_toml() for k in range(6)}
    assert len(tomls) == 6
    seeds = {draw_scenario(path, k).seed for k in range(6)}
    assert len(seeds) == 6  # the traffic seed is drawn too


def test_ranges_choices_and_types_are_respected(tmp_path: Path) -> None:
    path = family(tmp_path)
    shares, items, orgs, starts = [], [], [], set()
    for k in range(60):
        sc = draw_scenario(path, k)
        assert 200 <= sc.accounts <= 400 and isinstance(sc.accounts, int)
        assert 1.0 <= sc.days <= 3.0
        assert 0.3 * sc.days * 24 - 0.01 <= sc.release_hour <= 0.7 * sc.days * 24 + 0.01
        starts.add(sc.start.month)
        pops = {p.name: p for p in sc.populations}
        shares.append(pops["casual"].share)
        assert 2.0 <= pops["casual"].params["turns_mean"] <= 3.0
        batch = pops["batch"].params
        if batch["share"] > 0:
            assert 10 <= batch["items_per_run"] <= 2000
            assert isinstance(batch["items_per_run"], int)
            items.append(batch["items_per_run"])
            orgs.append(batch["accounts_per_org"])
        hydra = next(c for c in sc.campaigns if c.campaign_id == "h")
        assert 0.02 <= hydra.params["share"] <= 0.04
        assert 2 <= hydra.params["max_requests_per_hour"] <= 20
    assert starts == {1, 7}
    assert min(shares) < 0.5 and max(shares) > 0.5  # log-uniform: both decades are drawn
    assert min(items) < 200 and max(items) > 200
    assert set(orgs) == {1, 3} and orgs.count(3) > orgs.count(1)


def test_present_is_honoured(tmp_path: Path) -> None:
    path = family(tmp_path)
    batch_in, cot_in = [], []
    for k in range(40):
        sc = draw_scenario(path, k)
        batch_in.append(next(p for p in sc.populations if p.name == "batch").share > 0)
        cot_in.append(any(c.campaign_id == "maybe" for c in sc.campaigns))
    assert 8 <= sum(batch_in) <= 32 and 8 <= sum(cot_in) <= 32
    never = family(tmp_path, SMALL.replace("present = 0.5", "present = 0"), "never.toml")
    for k in range(5):
        sc = draw_scenario(never, k)
        assert next(p for p in sc.populations if p.name == "batch").share == 0
        assert [c.campaign_id for c in sc.campaigns] == ["h"]


def test_adding_a_key_leaves_the_other_draws_alone(tmp_path: Path) -> None:
    a = draw_scenario(family(tmp_path), 5)
    more = SMALL.replace(
        "turns_mean = [2.0, 3.0]", "turns_mean = [2.0, 3.0]\nthink_median_s = [5, 50]"
    )
    b = draw_scenario(family(tmp_path, more, "g.toml"), 5)
    assert a.accounts == b.accounts and a.seed == b.seed
    assert a.populations[0].params["share"] == b.populations[0].params["share"]
    assert a.campaigns == b.campaigns


def test_overrides_apply_after_the_draw(tmp_path: Path) -> None:
    sc = draw_scenario(family(tmp_path), 2, accounts=123, days=2.0, seed=9)
    assert (sc.accounts, sc.days, sc.seed) == (123, 2.0, 9)
    assert 0.3 * 48 - 0.01 <= sc.release_hour <= 0.7 * 48 + 0.01


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("turns_mean = [2.0, 3.0]", "turns_mea = [2.0, 3.0]", ["populations.casual", "turns_mea"]),
        ("items_per_run = [10, 2000]", "items_per_run = [2000, 10]", ["items_per_run", "lo > hi"]),
        ("items_per_run = [10, 2000]", "items_per_run = [10.5, 20]", ["items_per_run", "integer"]),
        ("items_per_run = [10, 2000]", "items_per_run = [1, 2, 3]", ["items_per_run", "[lo, hi]"]),
        ("turns_mean = [2.0, 3.0]", 'turns_mean = "many"', ["populations.casual", "turns_mean"]),
        ("present = 0.5\nshare", "present = 1.5\nshare", ["populations.batch", "present"]),
        ("[populations.batch]", "[populations.batchy]", ["batchy"]),
        ('tactic = "cot"', 'tactic = "cott"', ["campaigns", "cott"]),
        ("accounts = [1, 3]", "acounts = [1, 3]", ["campaigns maybe", "acounts"]),
        ('["flat", "human"]', '["flat", "sometimes"]', ["timing", "sometimes"]),
        ('name = "small"', 'name = "small"\nnme = 1', ["[family]", "nme"]),
        ("[simulation]", "[simulations]", ["simulations"]),
    ],
)
def test_bad_families_name_file_table_and_key(
    tmp_path: Path, old: str, new: str, needles: list[str]
) -> None:
    assert old in SMALL
    path = family(tmp_path, SMALL.replace(old, new), "bad_family.toml")
    with pytest.raises(ScenarioError) as exc:
        draw_scenario(path, 0)
    msg = str(exc.value)
    assert "bad_family.toml" in msg
    for needle in needles:
        assert needle in msg, msg


def test_negative_draw_and_missing_file_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="draw"):
        draw_scenario(family(tmp_path), -1)
    with pytest.raises(ScenarioError, match="not found"):
        draw_scenario(tmp_path / "nope.toml", 0)


@pytest.mark.parametrize("name", ["train", "tune", "heldout"])
def test_packaged_families_resolve(name: str) -> None:
    path = FAMILIES / f"{name}.toml"
    fam = load_family(path)
    assert fam["family"]["name"] == name
    tactics = set()
    for k in range(12):
        sc = draw_scenario(path, k)
        tactics |= {c.tactic for c in sc.campaigns}
        assert sc.origin.startswith(f"scenario family {name!r}")
    assert len(tactics) >= 8


def test_heldout_says_it_is_never_trained_or_tuned_on() -> None:
    head = (FAMILIES / "heldout.toml").read_text().split("[family]")[0]
    assert re.search(r"never train", head, re.IGNORECASE)


def test_cli_family_draw_end_to_end(tmp_path: Path) -> None:
    fam = str(FAMILIES / "train.toml")
    args = ["simulate", "--family", fam, "--draw", "2", "--accounts", "150", "--days", "1"]
    out = tmp_path / "a"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    text = (out / "scenario.toml").read_text()
    assert text.startswith("# scenario family 'train'") and "draw 2" in text.splitlines()[0]
    again = draw_scenario(fam, 2, accounts=150, days=1.0, format="jsonl")
    assert text == again.to_toml()
    # the resolved file reproduces the run byte for byte
    out_b = tmp_path / "b"
    result = CliRunner().invoke(
        app, ["simulate", "--scenario", str(out / "scenario.toml"), "--out", str(out_b)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "traffic.jsonl").read_bytes() == (out_b / "traffic.jsonl").read_bytes()
    assert load_scenario(out / "scenario.toml").seed == again.seed


def test_cli_family_option_errors(tmp_path: Path) -> None:
    fam = str(FAMILIES / "train.toml")
    both = CliRunner().invoke(
        app, ["simulate", "--out", str(tmp_path), "--family", fam, "--scenario", fam]
    )
    assert both.exit_code != 0 and "not both" in both.output
    lone = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--draw", "3"])
    assert lone.exit_code != 0 and "--family" in lone.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[simulation]\naccounts = [5, 1]\n")
    res = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--family", str(bad)])
    assert res.exit_code != 0 and "accounts" in res.output and "bad.toml" in res.output
