"""The intel page: the block list of ``share pull`` and the hits of ``share hunt``, with
their provenance, escaped, and bad files named."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.review.importer import import_scan
from distillwatch.share.blocklist import Entry, write_blocklist
from distillwatch.share.findings import SharedCampaignMatch
from distillwatch.share.hunt import Hit, write_hits
from review_kit import HOSTILE, build_scan, logged_in, make_store
from scan_fixtures import write_jsonl


def _entry(kind: str, value: str, encoding: str = "plain", source: str = "member-b") -> Entry:
    return Entry(
        kind,
        encoding,
        value,
        90,
        "2027-01-01T00:00:00Z",
        source,
        "campaign--0d7a4f7e-1c7d-4a3b-9a52-6d0f3c2b1a00",
        "indicator--x",
    )


def test_imported_intel_is_listed_with_provenance_and_matches(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    import_scan(store, build_scan(tmp_path / "scan"), "t")
    blocklist = tmp_path / "share-blocklist.json"
    write_blocklist(
        blocklist,
        [
            _entry("asn", "64500"),
            _entry("payment_fingerprint", "ab" * 32, "hmac-sha256"),
            _entry("user_agent", HOSTILE, source="member-c"),
        ],
        "k1",
    )
    hits = tmp_path / "retrohunt.jsonl"
    write_hits(hits, [Hit("acct_h1", [SharedCampaignMatch("member-b", ("asn",), 0.93)])])
    db = ["--db", str(tmp_path / "console.db")]
    args = ["console", "import-intel", "--blocklist", str(blocklist), "--hits", str(hits), *db]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "3 indicators, 1 matched accounts" in result.output

    client, _ = logged_in(store, tmp_path, "vic")
    page = client.get("/intel").text
    assert "<td>member-b</td>" in page and "<td>member-c</td>" in page
    assert "hmac-sha256 abababababab…" in page and "ab" * 32 not in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert 'href="/accounts/acct_h1"' in page and "shared by member-b" in page
    assert "<td>block</td>" in page


def test_bad_intel_files_are_named_and_keep_the_previous_import(tmp_path: Path) -> None:
    from distillwatch.review.intel import import_intel
    from distillwatch.review.store import ConsoleError

    store = make_store(tmp_path)
    good = tmp_path / "retrohunt.jsonl"
    write_jsonl(good, [{"account_id": "a1", "action": "review", "reasons": ["x"]}])
    assert import_intel(store, None, good, "t") == "1 matched accounts"
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"account_id": "a2", "action": "nuke", "reasons": []}]
    )
    with pytest.raises(ConsoleError, match=r"bad\.jsonl:1"):
        import_intel(store, None, bad, "t")
    (tmp_path / "bl.json").write_text('{"format": "other"}')
    with pytest.raises(ConsoleError, match="not a distillwatch-blocklist"):
        import_intel(store, tmp_path / "bl.json", None, "t")
    client, _ = logged_in(store, tmp_path, "vic")
    assert 'href="/accounts/a1"' in client.get("/intel").text
