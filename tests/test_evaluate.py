"""Evaluation figures against hand-computed expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillwatch.evaluate import (
    NoOverlapError,
    evaluate_scan,
    roc_auc,
    volume_threshold,
)
from distillwatch.report.scandir import ScanFileError
from scan_fixtures import account, attack, benign, campaign, cid, write_jsonl, write_scan


def run(tmp_path: Path, accounts, labels, campaigns=(), fpr_target: float = 0.001):
    scan = write_scan(tmp_path / "scan", accounts, campaigns)
    path = write_jsonl(tmp_path / "labels.jsonl", labels)
    return evaluate_scan(scan, path, fpr_target)


def test_one_false_positive_in_a_thousand_is_fpr_0_001(tmp_path: Path) -> None:
    accounts = [
        account(f"b{i:04d}", flagged=i == 0, score=0.9 if i == 0 else 0.1) for i in range(1000)
    ]
    accounts += [account(f"a{i}", flagged=True, score=0.95, campaign_id=cid(1)) for i in range(4)]
    labels = [benign(f"b{i:04d}", "batch_job" if i < 100 else "casual") for i in range(1000)]
    labels += [attack(f"a{i}", "hydra", "T1") for i in range(4)]
    ev = run(tmp_path, accounts, labels)
    assert ev.accounts.fpr == pytest.approx(0.001)
    assert ev.accounts.false_positives == 1 and ev.accounts.benign == 1000
    assert ev.accounts.recall == 1.0
    assert ev.accounts.precision == pytest.approx(4 / 5)
    pops = {p.group: p for p in ev.populations}
    assert (pops["batch_job"].hits, pops["batch_job"].accounts) == (1, 100)
    assert pops["batch_job"].rate == pytest.approx(0.01)
    assert pops["casual"].rate == 0.0
    targets = {t.name: t for t in ev.targets}
    assert targets["benign FPR (overall)"].met  # 0.001 <= 0.001
    assert not targets["benign FPR: batch_job"].met  # the average hides this population
    assert targets["benign FPR: casual"].met
    assert not ev.passed


def test_precision_recall_f1_and_per_tactic(tmp_path: Path) -> None:
    accounts = [account(f"a{i}", flagged=i < 8, score=0.9 if i < 8 else 0.2) for i in range(10)]
    accounts += [account(f"b{i}", flagged=i < 2, score=0.8 if i < 2 else 0.1) for i in range(20)]
    labels = [
        attack(f"a{i}", "cot_harvest" if i < 5 else "slow_and_low", f"T{i // 5}") for i in range(10)
    ]
    labels += [benign(f"b{i}") for i in range(20)]
    ev = run(tmp_path, accounts, labels)
    r = ev.accounts
    assert (r.true_positives, r.false_positives, r.false_negatives, r.true_negatives) == (
        8,
        2,
        2,
        18,
    )
    assert r.precision == pytest.approx(0.8)
    assert r.recall == pytest.approx(0.8)
    assert r.f1 == pytest.approx(0.8)
    assert r.fpr == pytest.approx(0.1)
    tactics = {t.group: t for t in ev.tactics}
    assert (tactics["cot_harvest"].hits, tactics["cot_harvest"].rate) == (5, 1.0)
    assert (tactics["slow_and_low"].hits, tactics["slow_and_low"].rate) == (3, pytest.approx(0.6))
    assert ev.tactics[0].group == "slow_and_low"  # worst first


def test_roc_auc_counts_pairs_and_half_ties() -> None:
    import polars as pl

    scores = pl.Series([0.1, 0.4, 0.35, 0.8])
    positive = pl.Series([False, False, True, True])
    assert roc_auc(scores, positive) == pytest.approx(3 / 4)
    tied = pl.Series([0.4, 0.4])
    assert roc_auc(tied, pl.Series([False, True])) == pytest.approx(0.5)
    assert roc_auc(scores, pl.Series([True] * 4)) is None


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [(0, 100), (1, 50), (2, 50), (3, 10), (4, 9), (9, 9)],
)
def test_volume_threshold_never_exceeds_allowed_benign_flags(allowed: int, expected: int) -> None:
    volumes = [10, 50, 100, 50]
    threshold = volume_threshold(volumes, allowed)
    assert threshold == expected
    assert sum(v > threshold for v in volumes) <= allowed


def test_baseline_cut_at_the_scans_fpr(tmp_path: Path) -> None:
    # benign volumes 100, 50, 20, 10; the scan flags one benign -> baseline may flag one
    benign_volumes = [100, 50, 20, 10]
    accounts = [
        account(f"b{i}", flagged=i == 3, score=0.7 if i == 3 else 0.1, requests=v)
        for i, v in enumerate(benign_volumes)
    ]
    attack_volumes = {"h0": 60, "h1": 40, "bulk": 200}
    accounts += [account(a, flagged=True, score=0.9, requests=v) for a, v in attack_volumes.items()]
    labels = [benign(f"b{i}") for i in range(4)]
    labels += [
        attack("h0", "hydra", "T1"),
        attack("h1", "hydra", "T1"),
        attack("bulk", "bulk_harvester", "T2"),
    ]
    ev = run(tmp_path, accounts, labels)
    b = ev.baseline
    assert b.available and b.threshold == 50  # flags > 50: b0 (100), h0 (60), bulk (200)
    assert b.rates is not None
    assert b.rates.false_positives == 1 and b.rates.fpr == ev.accounts.fpr == pytest.approx(0.25)
    assert b.rates.recall == pytest.approx(2 / 3)
    tactics = {t.group: t.rate for t in b.tactics}
    assert tactics == {"hydra": pytest.approx(0.5), "bulk_harvester": 1.0}


def test_baseline_at_zero_fpr_is_above_every_benign_volume(tmp_path: Path) -> None:
    accounts = [account("b0", requests=300), account("b1", requests=20)]
    accounts += [account("a0", requests=300, flagged=True, score=0.9), account("a1", requests=301)]
    labels = [benign("b0"), benign("b1"), attack("a0", "bulk", "T"), attack("a1", "bulk", "T")]
    ev = run(tmp_path, accounts, labels)
    assert ev.accounts.fpr == 0.0
    assert ev.baseline.threshold == 300
    assert ev.baseline.rates is not None and ev.baseline.rates.true_positives == 1  # only a1


def test_baseline_unavailable_without_request_counts(tmp_path: Path) -> None:
    rows = [account("b0"), account("a0", flagged=True, score=0.9)]
    for r in rows:  # a scanner that writes only the DESIGN.md fields
        del r["requests"]
    ev = run(tmp_path, rows, [benign("b0"), attack("a0", "cot", "T")])
    assert not ev.baseline.available and "requests" in ev.baseline.note


def test_campaign_detection_purity_and_cover(tmp_path: Path) -> None:
    # T1: 4 accounts, 2 flagged in C1 (exactly half: detected). T2: 3 accounts, 1 flagged: missed.
    # C1 holds t1a, t1b and one benign account -> purity 2/3. C2 holds t2a only -> purity 1.
    c1, c2 = cid(1), cid(2)
    accounts = [
        account("t1a", flagged=True, score=0.9, campaign_id=c1),
        account("t1b", flagged=True, score=0.9, campaign_id=c1),
        account("t1c"),
        account("t1d"),
        account("t2a", flagged=True, score=0.8, campaign_id=c2),
        account("t2b"),
        account("t2c"),
        account("ben", flagged=True, score=0.7, campaign_id=c1),
    ]
    labels = [attack(a, "hydra", "T1") for a in ("t1a", "t1b", "t1c", "t1d")]
    labels += [attack(a, "slow_and_low", "T2") for a in ("t2a", "t2b", "t2c")]
    labels += [benign("ben", "researcher")]
    camps = [campaign(c1, [accounts[0], accounts[1], accounts[7]]), campaign(c2, [accounts[4]])]
    ev = run(tmp_path, accounts, labels, camps)
    c = ev.campaigns
    true = {t.campaign_id: t for t in c.true_campaigns}
    assert true["T1"].detected and true["T1"].flagged_share == 0.5
    assert not true["T2"].detected and true["T2"].flagged_share == pytest.approx(1 / 3)
    assert true["T1"].covered_by == {c1: 2} and true["T2"].covered_by == {c2: 1}
    assert (c.total, c.detected, c.recall) == (2, 1, 0.5)
    pred = {p.campaign_id: p for p in c.predicted}
    assert pred[c1].purity == pytest.approx(2 / 3) and pred[c1].benign_members == 1
    assert pred[c1].majority_campaign == "T1"
    assert pred[c2].purity == 1.0
    assert c.mean_purity == pytest.approx((2 / 3 + 1) / 2)
    assert c.min_purity == pytest.approx(2 / 3)


def test_missing_and_unlabelled_accounts(tmp_path: Path) -> None:
    accounts = [account("a0", flagged=True, score=0.9), account("b0"), account("stranger")]
    labels = [attack("a0", "hydra", "T"), attack("a1", "hydra", "T"), benign("b0")]
    ev = run(tmp_path, accounts, labels)
    assert ev.coverage.missing_from_scan == 1 and ev.coverage.missing_examples == ["a1"]
    assert ev.coverage.not_in_labels == 1 and ev.coverage.unlabelled_examples == ["stranger"]
    assert ev.accounts.attack == 2 and ev.accounts.recall == 0.5  # a1 counted as unflagged
    assert ev.accounts.accounts == 3  # the stranger is not in account figures
    assert any("missing from the scan" in w and "a1" in w for w in ev.warnings)
    assert any("no label" in w and "stranger" in w for w in ev.warnings)


def test_no_shared_accounts_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NoOverlapError, match="share no account id"):
        run(tmp_path, [account("x")], [benign("y")])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "labels.jsonl:2: not valid JSON"),
        (b'{"account_id": "z", "label": "evil"}', "labels.jsonl:2: field 'label'"),
        (b'{"label": "benign"}', "labels.jsonl:2: missing field 'account_id'"),
        (b'{"account_id": "b0", "label": "benign"}', "labels.jsonl:2: duplicate account_id"),
    ],
)
def test_malformed_labels_name_file_and_line(tmp_path: Path, line: bytes, message: str) -> None:
    scan = write_scan(tmp_path / "scan", [account("b0")])
    labels = tmp_path / "labels.jsonl"
    labels.write_bytes(
        b'{"account_id": "b0", "label": "benign", "campaign_id": null}\n' + line + b"\n"
    )
    with pytest.raises(ScanFileError, match=message):
        evaluate_scan(scan, labels)


def test_malformed_accounts_name_file_and_line(tmp_path: Path) -> None:
    bad = account("a1")
    bad["score"] = 1.7
    scan = write_scan(tmp_path / "scan", [account("a0"), bad])
    labels = write_jsonl(tmp_path / "labels.jsonl", [benign("a0")])
    with pytest.raises(
        ScanFileError, match=r"accounts.jsonl:2: field 'score' must be a number in 0..1"
    ):
        evaluate_scan(scan, labels)


def test_every_target_met_passes(tmp_path: Path) -> None:
    c1 = cid(7)
    accounts = [account(f"b{i}") for i in range(50)]
    members = [account(f"a{i}", flagged=True, score=0.9, campaign_id=c1) for i in range(5)]
    labels = [benign(f"b{i}") for i in range(50)] + [
        attack(f"a{i}", "hydra", "T") for i in range(5)
    ]
    ev = run(tmp_path, accounts + members, labels, [campaign(c1, members)])
    assert ev.passed, [t for t in ev.targets if not t.met]
    assert ev.accounts.roc_auc == 1.0
    assert ev.to_dict()["passed"] is True and ev.to_dict()["online"] is None
