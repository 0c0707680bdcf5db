"""Simulator contract: determinism, traffic log v1 validity, labels, scenario errors, CLI."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.simulate import ScenarioError, SimulationSummary, load_scenario, simulate

SCHEMA = Path(__file__).parents[1] / "src/distillwatch/schemas/traffic-log-v1.schema.json"


def read_log(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if path.suffix == ".zst":
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    return [orjson.loads(line) for line in raw.splitlines() if line]


def small_run(
    factory: pytest.TempPathFactory,
) -> tuple[SimulationSummary, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """One small run (3 days, 300 accounts): summary, records, labels by account id."""
    out = factory.mktemp("sim")
    summary = simulate(load_scenario(accounts=300, days=3, seed=11), out)
    labels = {r["account_id"]: r for r in read_log(out / "labels.jsonl")}
    return summary, read_log(summary.files["traffic"]), labels


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return small_run(tmp_path_factory)


def by_group(sim: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """group -> account id -> its records."""
    _, recs, labels = sim
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in recs:
        lab = labels[r["account_id"]]
        out[lab.get("tactic") or lab["population"]][r["account_id"]].append(r)
    return out


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    sc = load_scenario(accounts=60, days=1, seed=5)
    a = simulate(sc, tmp_path / "a")
    b = simulate(sc, tmp_path / "b")
    c = simulate(load_scenario(accounts=60, days=1, seed=6), tmp_path / "c")
    for name in ("traffic", "labels", "scenario"):
        assert a.files[name].read_bytes() == b.files[name].read_bytes()
    assert a.files["traffic"].read_bytes() != c.files["traffic"].read_bytes()


def test_resolved_scenario_reproduces_the_run(tmp_path: Path) -> None:
    first = simulate(load_scenario(accounts=50, days=1, seed=9, format="jsonl"), tmp_path / "a")
    again = simulate(load_scenario(first.files["scenario"]), tmp_path / "b")
    assert first.files["traffic"].read_bytes() == again.files["traffic"].read_bytes()


def test_records_are_traffic_log_v1_and_sorted(sim: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _, recs, _ = sim
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for r in recs[:: max(1, len(recs) // 3000)]:
        errors = list(validator.iter_errors(r))
        assert not errors, (r["request_id"], errors[0].message)
    assert [r["ts"] for r in recs] == sorted(r["ts"] for r in recs)
    assert len({r["request_id"] for r in recs}) == len(recs)
    assert {r["endpoint"] for r in recs} <= {"chat", "completion", "responses", "embedding"}
    assert {r["status"] for r in recs} >= {200}


def test_labels_cover_exactly_the_accounts_in_the_log(sim: Any) -> None:
    summary, recs, labels = sim
    assert {r["account_id"] for r in recs} == set(labels)
    for lab in labels.values():
        if lab["label"] == "attack":
            assert lab["tactic"] and lab["campaign_id"]
        else:
            assert lab["label"] == "benign" and lab["population"] and lab["campaign_id"] is None
    tactics = {lab["tactic"] for lab in labels.values() if lab["label"] == "attack"}
    assert tactics == {
        "bulk",
        "hydra",
        "reseller_mix",
        "cot",
        "grading",
        "tool_trace",
        "multilingual",
        "logprob",
        "slow_low",
        "pivot",
    }
    assert summary.requests == len(recs)


def test_ids_do_not_leak_the_label(sim: Any) -> None:
    _, recs, labels = sim
    shapes = defaultdict(set)
    for r in recs[::50]:
        lab = labels[r["account_id"]]["label"]
        for key in ("account_id", "request_id", "key_id", "org_id", "payment_fingerprint"):
            shapes[key].add((lab, r[key].split("_")[0], len(r[key])))
    for key, seen in shapes.items():
        assert {s[1:] for s in seen if s[0] == "benign"} == {
            s[1:] for s in seen if s[0] == "attack"
        }, key


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[simulation]\naccounts = 'many'\n", "'accounts' must be int"),
        ("[populations.casual]\nsharee = 0.1\n", "unknown key 'sharee'"),
        ("[[campaigns]]\ntactic = 'hydra'\nmax_request_per_hour = 3\n", "max_request_per_hour"),
        ("[[campaigns]]\ntactic = 'nope'\n", "key 'tactic' must be one of"),
        ("[models]\nrelease_hour = 9999.0\n", "release_hour"),
        ("[simulation]\nformat = 'csv'\n", "format"),
        ("[populations.aliens]\nshare = 1.0\n", "unknown population"),
        ("[simulation\n", "not valid TOML"),
    ],
)
def test_scenario_errors_name_the_bad_key(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ScenarioError, match=needle.replace("[", r"\[")):
        load_scenario(path)


def test_campaigns_larger_than_the_run_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="campaigns need"):
        simulate(load_scenario(accounts=10, days=1), tmp_path)


def test_cli_writes_the_three_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--out",
            str(tmp_path),
            "--accounts",
            "60",
            "--days",
            "1",
            "--seed",
            "2",
            "--format",
            "jsonl.gz",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {
        "traffic.jsonl.gz",
        "labels.jsonl",
        "scenario.toml",
    }
    assert "campaign-01-hydra" in result.output


def test_cli_reports_a_bad_scenario_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text("[simulation]\nseedd = 1\n")
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--scenario", str(bad)])
    assert result.exit_code != 0
    assert "seedd" in result.output
