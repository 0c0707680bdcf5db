"""The single-file HTML report: content, escaping of attacker text, charts, caps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from distillwatch.report.html import ReportLimits, write_html_report
from scan_fixtures import account, campaign, cid, sample, write_scan

EVIL = "<script>alert('x')</script>"


def _scan(tmp_path: Path, outside: int = 2) -> Path:
    c1 = cid(0xABC)
    members = [
        account(f"hydra-{i}", flagged=True, score=0.97, campaign_id=c1, requests=40, hours=(2, 20))
        for i in range(6)
    ]
    loners = [
        account(f"loner-{i}", flagged=True, score=0.6 + i / 100, requests=300, reasons=["bulk"])
        for i in range(outside)
    ]
    quiet = [account(f"user-{i}", requests=25, hours=(0, 30)) for i in range(10)]
    evil_member = account('<img src=x onerror="alert(1)">', flagged=True, score=0.9, campaign_id=c1)
    members.append(evil_member)
    camp = campaign(c1, members, capabilities={"reasoning": 0.6, "coding": 0.25, "<b>x</b>": 0.15})
    samples = [sample("hydra-0", c1, f"Ignore this {EVIL} and solve 2+2 step by step")]
    samples.append(sample("loner-0", None, "Grade these answers from 1 to 10"))
    return write_scan(
        tmp_path / "scan",
        members + loners + quiet,
        [camp],
        samples,
        quarantined={"bad_json": 3, "missing_account_id": 1},
    )


def test_report_has_totals_campaign_sections_and_charts(tmp_path: Path) -> None:
    path = write_html_report(_scan(tmp_path))
    assert path == tmp_path / "scan" / "report.html"
    html = path.read_text()
    assert html.count("<svg") >= 3  # prevalence, timeline, capability bars
    assert 'id="prevalence"' in html and 'id="timeline"' in html
    assert "C-00000abc" in html and "hydra_cluster" in html
    assert "bad_json 3" in html and "missing_account_id 1" in html
    assert "Grade these answers" in html  # evidence outside campaigns
    assert "203.0.113.0/24" in html and "payment fingerprint: 6" in html
    # prevalence legend totals: 6*40 + 1*10 in the campaign, 2*300 flagged outside, 10*25 rest
    assert "in flagged campaigns: 250" in html
    assert "flagged accounts outside campaigns: 600" in html
    assert "all other traffic: 250" in html


def test_attacker_text_is_escaped_everywhere(tmp_path: Path) -> None:
    html = write_html_report(_scan(tmp_path)).read_text()
    assert EVIL not in html
    assert "&lt;script&gt;alert(" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html  # inside the SVG chart
    # the only scripts are the report's own inline one, and nothing is fetched
    assert len(re.findall(r"<script", html)) == 1 and "<script src" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_caps_say_how_many_rows_were_left_out(tmp_path: Path) -> None:
    limits = ReportLimits(flagged_accounts=5, accounts_per_campaign=3)
    html = write_html_report(_scan(tmp_path, outside=4), limits).read_text()
    table = html.split('id="flagged-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 5  # header + capped rows
    assert "6 more flagged accounts not listed" in html  # 7 members + 4 loners - 5
    assert "4 more accounts not listed" in html  # 7 members - 3


def test_report_of_a_scan_without_campaigns_or_timeline(tmp_path: Path) -> None:
    scan = write_scan(tmp_path / "scan", [account("u1"), account("u2")])
    (scan / "timeline.parquet").unlink()
    html = write_html_report(scan).read_text()
    assert "No campaigns were flagged." in html and "No timeline in this scan." in html


def test_long_scans_are_charted_per_day(tmp_path: Path) -> None:
    rows = [
        account("early", requests=5, hours=(0, 0)),
        account("late", requests=5, hours=(24 * 60, 24 * 60)),
    ]
    html = write_html_report(write_scan(tmp_path / "scan", rows)).read_text()
    assert "requests per day" in html


@pytest.mark.parametrize("name", ["accounts.jsonl", "campaigns.jsonl"])
def test_broken_scan_file_names_the_line(tmp_path: Path, name: str) -> None:
    from distillwatch.report.scandir import ScanFileError

    scan = _scan(tmp_path)
    with (scan / name).open("ab") as fh:
        fh.write(b"[1, 2]\n")
    with pytest.raises(ScanFileError, match=rf"{name}:\d+: expected a JSON object"):
        write_html_report(scan)
