"""``distillwatch evaluate`` end to end through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from typer.testing import CliRunner

from distillwatch.cli import app
from scan_fixtures import account, attack, benign, campaign, cid, write_jsonl, write_scan


def said(text: str, output: str) -> bool:
    """``text`` appears in ``output`` however Rich wrapped the line."""
    return re.sub(r"\s+", "", text) in re.sub(r"\s+", "", output)


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    c1 = cid(3)
    members = [
        account(f"a{i}", flagged=True, score=0.9, campaign_id=c1, requests=5) for i in range(3)
    ]
    accounts = [account(f"b{i}", requests=10 + i) for i in range(20)] + members
    scan = write_scan(tmp_path / "scan", accounts, [campaign(c1, members)])
    labels = [benign(f"b{i}", "eval_run" if i < 5 else "casual") for i in range(20)]
    labels += [attack(f"a{i}", "hydra", "T1") for i in range(3)]
    return scan, write_jsonl(tmp_path / "labels.jsonl", labels)


def test_evaluate_prints_tables_and_writes_json(tmp_path: Path) -> None:
    scan, labels = _inputs(tmp_path)
    out = tmp_path / "figures" / "eval.json"
    result = CliRunner().invoke(
        app, ["evaluate", "--scan", str(scan), "--labels", str(labels), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    for heading in ("accounts", "benign populations", "attack tactics", "campaigns", "targets"):
        assert heading in result.stdout
    assert "PASS" in result.stdout
    figures = orjson.loads(out.read_bytes())
    assert figures["accounts"]["recall"] == 1.0 and figures["accounts"]["fpr"] == 0.0
    # hydra accounts send 5 requests, below every benign account: the baseline catches none
    assert figures["baseline"]["threshold"] == 29
    assert figures["baseline"]["tactics"] == [
        {"group": "hydra", "accounts": 3, "hits": 0, "rate": 0.0}
    ]
    assert figures["campaigns"]["detected"] == 1 and figures["campaigns"]["mean_purity"] == 1.0
    assert figures["passed"] is True and figures["online"] is None


def test_fpr_target_changes_the_verdict(tmp_path: Path) -> None:
    scan, labels = _inputs(tmp_path)
    rows = [orjson.loads(line) for line in (scan / "accounts.jsonl").read_bytes().splitlines()]
    rows[0].update(flagged=True, score=0.6)  # one of 20 benign flagged: FPR 5%
    write_jsonl(scan / "accounts.jsonl", rows)
    args = ["evaluate", "--scan", str(scan), "--labels", str(labels)]
    strict = CliRunner().invoke(app, args)
    assert strict.exit_code == 0
    assert "FAIL" in strict.stdout and "5.000%" in strict.stdout
    lenient = CliRunner().invoke(app, [*args, "--fpr-target", "0.5"])
    assert "targets: PASS" in lenient.stdout


def test_malformed_accounts_file_is_a_clear_error(tmp_path: Path) -> None:
    scan, labels = _inputs(tmp_path)
    with (scan / "accounts.jsonl").open("ab") as fh:
        fh.write(b'{"account_id": "x", "score": "high"}\n')
    result = CliRunner().invoke(app, ["evaluate", "--scan", str(scan), "--labels", str(labels)])
    assert result.exit_code != 0
    assert said("accounts.jsonl:24: field 'score' must be a number", result.output)


def test_disjoint_files_and_missing_scan_dir_are_errors(tmp_path: Path) -> None:
    scan, _ = _inputs(tmp_path)
    other = write_jsonl(tmp_path / "other.jsonl", [benign("nobody")])
    result = CliRunner().invoke(app, ["evaluate", "--scan", str(scan), "--labels", str(other)])
    assert result.exit_code != 0 and said("share no account id", result.output)
    missing = CliRunner().invoke(
        app, ["evaluate", "--scan", str(tmp_path / "nope"), "--labels", str(other)]
    )
    assert missing.exit_code != 0 and said("not a scan directory", missing.output)
