"""``calibrate``: the operating point on known-good accounts, its intervals, the command, and
``scan`` / ``replay`` using the calibration."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import orjson
import pytest
from scipy.stats import beta
from typer.testing import CliRunner

from builders import casual_user, cot_harvester, hydra, write_log
from distillwatch.calibration import apply_thresholds, policy_thresholds
from distillwatch.calibration.inputs import CalibrationError, read_ids, read_verdicts
from distillwatch.cli import app
from distillwatch.detect.operating_point import (
    Scored,
    choose_threshold,
    clopper_pearson,
    flagged,
    min_supported_fpr,
    needed_known_good,
)
from distillwatch.enforce.policy import load_policy
from scan_fixtures import account, write_scan


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def good(*scores: float, distinctive: bool = True) -> list[Scored]:
    return [Scored(s, distinctive) for s in scores]


# -- the pure choice ----------------------------------------------------------------------


@pytest.mark.parametrize("hits,total", [(0, 1), (0, 1000), (1, 1000), (7, 40), (40, 40), (3, 3)])
def test_clopper_pearson_is_the_exact_beta_interval(hits: int, total: int) -> None:
    low, high = clopper_pearson(hits, total)
    assert low == (0.0 if hits == 0 else pytest.approx(beta.ppf(0.025, hits, total - hits + 1)))
    assert high == (
        1.0 if hits == total else pytest.approx(beta.ppf(0.975, hits + 1, total - hits))
    )


def test_the_lowest_threshold_within_the_target() -> None:
    # 10 known good, target 10%: one false positive allowed -> just above the second highest
    point = choose_threshold(good(0.05, 0.1, 0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.9), 0.1)
    assert point.threshold == 0.6001
    assert (point.fpr.hits, point.fpr.total) == (1, 10)
    assert (point.fpr.low, point.fpr.high) == pytest.approx(clopper_pearson(1, 10))
    assert point.target_met
    # ties: every account at the boundary score stays unflagged
    assert choose_threshold(good(0.1, 0.7, 0.7, 0.7, 0.2), 0.2).threshold == 0.7001


def test_accounts_without_distinctive_evidence_are_never_false_positives() -> None:
    sample = good(0.95, 0.9, distinctive=False) + good(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    point = choose_threshold(sample, 0.1)  # one of ten may be flagged
    assert point.threshold == 0.7001  # the 0.9 and 0.95 cannot be flagged at any threshold
    assert point.flaggable == 8
    assert point.fpr.hits == 1 and point.fpr.total == 10  # denominator: every known good


def test_the_threshold_is_minimal_on_random_samples() -> None:
    rng = random.Random(5)
    for _ in range(50):
        sample = [Scored(round(rng.random(), 4), rng.random() < 0.7) for _ in range(200)]
        target = rng.choice([0.005, 0.01, 0.05, 0.2])
        point = choose_threshold(sample, target)
        assert flagged(sample, point.threshold) <= target * len(sample)
        if point.threshold > 0:
            assert flagged(sample, round(point.threshold - 1e-4, 4)) > target * len(sample)


def test_a_thousand_clean_accounts_only_show_about_a_third_of_a_percent() -> None:
    point = choose_threshold(good(*[0.01 * (i % 40) for i in range(1000)]), 0.001)
    assert point.min_supported_fpr == pytest.approx(1 - 0.025 ** (1 / 1000))
    assert 0.0036 < point.min_supported_fpr < 0.0037
    assert needed_known_good(0.001) == 3688
    assert min_supported_fpr(needed_known_good(0.001)) <= 0.001 < min_supported_fpr(3687)
    assert any("cannot show an FPR of 0.1%" in w and "3,688" in w for w in point.warnings)


def test_recall_on_known_bad_accounts() -> None:
    bad = good(0.2, 0.65, 0.7, 0.8, 0.99) + good(0.99, distinctive=False)
    point = choose_threshold(good(0.1, 0.3, 0.5, 0.6), 0.25, bad)
    assert point.threshold == 0.5001
    assert point.recall is not None
    assert (point.recall.hits, point.recall.total) == (4, 6)
    assert (point.recall.low, point.recall.high) == pytest.approx(clopper_pearson(4, 6))


def test_an_unreachable_target_and_the_floor() -> None:
    point = choose_threshold(good(1.0, 1.0, 0.2), 0.1)
    assert point.threshold == 1.0 and not point.target_met
    assert any("target not met" in w for w in point.warnings)
    floored = choose_threshold(good(0.1, 0.2), 0.5, min_threshold=0.5)
    assert floored.threshold == 0.5
    unbounded = choose_threshold(good(0.9, 0.9, distinctive=False), 0.01)
    assert unbounded.threshold == 0.0
    assert any("do not bound the threshold" in w for w in unbounded.warnings)
    with pytest.raises(ValueError):
        choose_threshold([], 0.01)
    with pytest.raises(ValueError):
        choose_threshold(good(0.1), 0.0)


# -- inputs -------------------------------------------------------------------------------


def test_known_good_lists_in_three_formats(tmp_path: Path) -> None:
    text = tmp_path / "good.txt"
    text.write_text("# verified enterprises\nacct-1\n\nacct-2  # since 2024\n")
    jsonl = tmp_path / "good.jsonl"
    jsonl.write_text('{"account_id": "acct-1", "note": "x"}\n\n{"account_id": "acct-2"}\n')
    csv = tmp_path / "good.csv"
    csv.write_text("org,account_id\nA,acct-1\nB,acct-2\n")
    assert read_ids(text) == read_ids(jsonl) == read_ids(csv) == ["acct-1", "acct-2"]


@pytest.mark.parametrize(
    "name,content,where",
    [
        ("g.jsonl", '{"account_id": "a"}\n{"account_id": 3}\n', "g.jsonl:2"),
        ("g.jsonl", '{"account_id": "a"}\n{oops\n', "g.jsonl:2"),
        ("g.csv", "id\na\n", "g.csv:1"),
        ("g.csv", "account_id\na\n\n,\n", "g.csv:"),
        ("g.txt", "a\nb c\n", "g.txt:2"),
    ],
)
def test_bad_known_good_lines_are_named(
    tmp_path: Path, name: str, content: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CalibrationError, match=re.escape(where)):
        read_ids(path)


def test_verdicts_latest_wins_and_bad_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text(
        '{"account_id": "a", "verdict": "confirmed"}\n{"account_id": "b", "verdict": "dismissed"}\n'
        '{"account_id": "a", "verdict": "dismissed", "analyst": "kim"}\n'
    )
    got = read_verdicts(path)
    assert got.dismissed == {"a", "b"} and not got.confirmed
    path.write_text(
        '{"account_id": "a", "verdict": "confirmed"}\n{"account_id": "b", "verdict": "ok"}\n'
    )
    with pytest.raises(CalibrationError, match=r"v\.jsonl:2"):
        read_verdicts(path)


# -- the command on a hand-built scan -----------------------------------------------------


def _scan(tmp_path: Path) -> Path:
    rows = [account(f"good{i}", score=round(0.01 * i, 4)) for i in range(50)]
    rows += [account("busy", score=0.97), account("quiet-bad", score=0.3)]
    rows += [{**account(f"bad{i}", score=0.8 + 0.01 * i, flagged=True)} for i in range(10)]
    rows[49]["distinctive"] = False  # good49 (0.49) cannot be flagged
    return write_scan(tmp_path / "scan", rows)


def test_calibrate_command_writes_the_file(tmp_path: Path) -> None:
    scan = _scan(tmp_path)
    known = tmp_path / "good.txt"
    known.write_text("\n".join(f"good{i}" for i in range(50)) + "\nnot-in-scan\n")
    verdicts = tmp_path / "verdicts.jsonl"
    verdicts.write_bytes(
        b"".join(
            orjson.dumps({"account_id": a, "verdict": v}) + b"\n"
            for a, v in [
                ("busy", "dismissed"),
                ("bad0", "confirmed"),
                ("bad9", "confirmed"),
                ("quiet-bad", "confirmed"),
                ("good3", "confirmed"),
            ]
        )
    )
    out = tmp_path / "calibration.toml"
    args = ["calibrate", "--scan", str(scan), "--known-good", str(known), "--verdicts"]
    args += [str(verdicts), "--target-fpr", "0.04", "--out", str(out), "--min-threshold", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = tomllib.loads(out.read_text())
    # known good: good0..49 minus good3 (confirmed) plus busy -> 50; 2 may be flagged
    section = doc["scan"]
    assert section["known_good"] == 50 and section["false_positives"] == 2
    assert section["threshold"] == 0.4701  # busy and good48 flagged; good49 cannot be
    assert section["fpr_ci95"] == pytest.approx(list(clopper_pearson(2, 50)), abs=1e-7)
    assert section["known_bad"] == 4 and section["recall"] == 0.5  # bad0, bad9 of 4
    assert doc["inputs"]["known_good"]["missing"] == 1
    assert doc["inputs"]["known_good"]["matched"] == 50
    assert doc["target_fpr"] == 0.04 and doc["calibration_version"] == "1"
    assert len(doc["inputs"]["scan"]["sha256"]) == 64
    said = " ".join(result.output.split())
    assert "not in the scan" in said and "confirmed as attackers" in said
    assert "0.4701" in said


def test_calibrate_errors(tmp_path: Path) -> None:
    scan = _scan(tmp_path)
    strangers = tmp_path / "strangers.txt"
    strangers.write_text("x\ny\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"account_id": "good1"}\n[1, 2]\n')
    runner = CliRunner()
    base = ["calibrate", "--scan", str(scan), "--target-fpr", "0.01", "--out", str(tmp_path / "c")]
    result = runner.invoke(app, [*base, "--known-good", str(strangers)])
    assert result.exit_code != 0 and "none of the known-good account ids" in result.output
    result = runner.invoke(app, [*base, "--known-good", str(broken)])
    assert result.exit_code != 0 and "broken.jsonl:2" in result.output
    result = runner.invoke(app, [*base, "--known-good", str(tmp_path / "nope.txt")])
    assert result.exit_code != 0 and "nope.txt" in result.output
    result = runner.invoke(app, base)
    assert result.exit_code != 0 and "--known-good" in result.output
    result = runner.invoke(
        app, [*base[:2], str(tmp_path), *base[3:], "--known-good", str(strangers)]
    )
    assert result.exit_code != 0 and "accounts.jsonl" in result.output
    assert not (tmp_path / "c").exists()


def test_apply_thresholds_moves_min_score_rules_only() -> None:
    policy = load_policy()
    assert policy_thresholds(policy) == {"throttle": 0.5, "challenge": 0.75, "block": 0.9}
    moved = apply_thresholds(policy, {"throttle": 0.8, "challenge": 0.85, "block": 0.95}, "c.toml")
    assert policy_thresholds(moved) == {"throttle": 0.8, "challenge": 0.85, "block": 0.95}
    campaign = next(r for r in moved.rules if r.name == "campaign")
    assert campaign.min_cluster_score == 0.9 and campaign.min_score is None
    assert "c.toml" in moved.source


# -- end to end on a real scan and replay -------------------------------------------------


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("week")
    records = [r for a in range(12) for r in casual_user(f"casual{a}", 15, start=a * 70.0)]
    records += cot_harvester("harvester", 200)
    cluster = hydra("hy", 8, 15)
    for r in cluster:
        r["payment_fingerprint"] = "pf-one"
    records += cluster
    records.sort(key=lambda r: (r["ts"], r["request_id"]))
    known = tmp / "good.txt"
    known.write_text("# honest\n" + "\n".join(f"casual{a}" for a in range(12)) + "\nhy3\n")
    return write_log(tmp / "log.jsonl", records), known


def _consistent(scan_dir: Path, threshold: float) -> None:
    """Every verdict of the scan is the one of ``threshold``."""
    assert orjson.loads((scan_dir / "summary.json").read_bytes())["threshold"] == threshold
    for row in read_jsonl(scan_dir / "accounts.jsonl"):
        expected = row["score"] >= threshold and row.get("distinctive", True) is not False
        assert row["flagged"] == expected, row["account_id"]


def test_scan_with_known_good_calibrates_in_one_go(
    week: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distillwatch.commands.calibrate as calibrate_command

    # no floor, so the threshold moves off the default and the scan is detected again
    monkeypatch.setattr(calibrate_command, "DEFAULT_FLOOR", 0.0)
    log, known = week
    out = tmp_path / "scan"
    args = ["scan", str(log), "--out", str(out), "--no-html", "--known-good", str(known)]
    result = CliRunner().invoke(app, [*args, "--target-fpr", "0.05"])
    assert result.exit_code == 0, result.output
    doc = tomllib.loads((out / "calibration.toml").read_text())
    assert doc["scan"]["known_good"] == 13
    _consistent(out, doc["scan"]["threshold"])
    assert not (out / "_work").exists()
    flagged_ids = {r["account_id"] for r in read_jsonl(out / "accounts.jsonl") if r["flagged"]}
    members = {a for c in read_jsonl(out / "campaigns.jsonl") for a in c["accounts"]}
    assert members <= flagged_ids  # campaigns follow the recalibrated flags

    again = tmp_path / "again"
    cal = tmp_path / "fixed.toml"
    cal.write_text(
        (out / "calibration.toml")
        .read_text()
        .replace(f"threshold = {doc['scan']['threshold']!r}", "threshold = 0.65")
    )
    result = CliRunner().invoke(
        app, ["scan", str(log), "--out", str(again), "--no-html", "--calibration", str(cal)]
    )
    assert result.exit_code == 0, result.output
    _consistent(again, 0.65)


def test_scan_option_conflicts(week: tuple[Path, Path], tmp_path: Path) -> None:
    log, known = week
    cal = tmp_path / "c.toml"
    cal.write_text('calibration_version = "1"\n[scan]\nthreshold = 2\n')
    runner = CliRunner()
    base = ["scan", str(log), "--out", str(tmp_path / "o"), "--no-html"]
    result = runner.invoke(app, [*base, "--calibration", str(cal), "--threshold", "0.3"])
    assert result.exit_code != 0 and "give one" in result.output
    result = runner.invoke(app, [*base, "--known-good", str(known)])
    assert result.exit_code != 0 and "--target-fpr" in result.output
    result = runner.invoke(app, [*base, "--calibration", str(cal)])
    assert result.exit_code != 0 and "c.toml" in result.output and "threshold" in result.output
    assert not (tmp_path / "o").exists()


def test_replay_thresholds_calibrated_and_applied(week: tuple[Path, Path], tmp_path: Path) -> None:
    log, known = week
    runner = CliRunner()
    scan, replay = tmp_path / "scan", tmp_path / "replay"
    assert runner.invoke(app, ["scan", str(log), "--out", str(scan), "--no-html"]).exit_code == 0
    assert runner.invoke(app, ["replay", str(log), "--out", str(replay)]).exit_code == 0
    peaks = {r["account_id"]: r for r in read_jsonl(replay / "replay-accounts.jsonl")}
    assert all(0.0 <= r["max_score"] <= 1.0 for r in peaks.values())
    assert max(r["max_score"] for r in peaks.values()) > 0

    out = tmp_path / "calibration.toml"
    args = ["calibrate", "--scan", str(scan), "--replay", str(replay), "--known-good", str(known)]
    result = runner.invoke(app, [*args, "--target-fpr", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    online = tomllib.loads(out.read_text())["online"]
    good_ids = [f"casual{a}" for a in range(12)] + ["hy3"]
    # no known-good account reaches the throttle threshold online
    assert all(peaks[a]["max_score"] < online["throttle"] for a in good_ids)
    assert online["throttle"] >= 0.5  # the default floor
    assert online["throttle"] <= online["challenge"] <= online["block"]
    assert online["challenge"] >= 0.75 and online["block"] >= 0.9

    after = tmp_path / "after"
    result = runner.invoke(
        app, ["replay", str(log), "--out", str(after), "--calibration", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads((after / "summary.json").read_bytes())
    assert str(out) in summary["policy"]
    for row in read_jsonl(after / "replay-accounts.jsonl"):
        if row["max_score"] < online["throttle"] and row["max_cluster_score"] < 0.9:
            assert row["refused"] == 0, row["account_id"]

    scan_only = tmp_path / "scan-only.toml"
    runner.invoke(app, [*args[:3], "--known-good", str(known), "--target-fpr", "0.01",
                        "--out", str(scan_only)])  # fmt: skip
    result = runner.invoke(
        app, ["replay", str(log), "--out", str(tmp_path / "x"), "--calibration", str(scan_only)]
    )
    assert result.exit_code != 0 and "[online]" in result.output
