"""The Rich scan summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from distillwatch.report.terminal import print_scan_summary
from scan_fixtures import account, campaign, cid, write_scan


def test_summary_lists_totals_quarantine_campaigns_and_outside_accounts(tmp_path: Path) -> None:
    c1 = cid(9)
    members = [
        account(f"m{i}", flagged=True, score=0.9, campaign_id=c1, requests=7) for i in range(3)
    ]
    outside = account(
        "solo", flagged=True, score=0.77, requests=900, reasons=["1,099 requests a day"]
    )
    scan = write_scan(
        tmp_path / "scan",
        [*members, outside, account("quiet")],
        [campaign(c1, members, capabilities={"coding": 0.7, "reasoning": 0.3})],
        quarantined={"bad_json": 2},
    )
    console = Console(record=True, width=200)
    print_scan_summary(scan, console)
    text = console.export_text()
    assert "flagged accounts │ 4" in text and "campaigns        │ 1" in text
    assert "2  bad_json" in text
    assert c1 in text and "coding 70%, reasoning 30%" in text and "hydra_cluster" in text
    assert "solo" in text and "1,099 requests a day" in text and "0.77" in text
    assert "m0" not in text  # campaign members are summarised by their campaign


def test_summary_without_campaigns(tmp_path: Path) -> None:
    scan = write_scan(tmp_path / "scan", [account("a"), account("b")])
    console = Console(record=True, width=120)
    print_scan_summary(scan, console)
    assert "no campaigns flagged" in console.export_text()


def test_high_scores_on_shared_behaviour_are_listed_for_review(tmp_path: Path) -> None:
    tutor = account("tutor-app", score=0.93, reasons=["97% of prompts elicit step-by-step"])
    scan = write_scan(tmp_path / "scan", [tutor, account("quiet", score=0.2)])
    console = Console(record=True, width=200)
    print_scan_summary(scan, console)
    text = console.export_text()
    assert "shared behaviour only" in text and "tutor-app" in text and "0.93" in text
    assert "quiet" not in text
