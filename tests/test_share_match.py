"""Block list, matcher and retro-hunt: imported indicators back into use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillwatch.share.blocklist import (
    BlocklistError,
    Entry,
    entries_from,
    pattern_values,
    read_blocklist,
    write_blocklist,
)
from distillwatch.share.hunt import hunt, raise_scores
from distillwatch.share.keyed import GroupKey
from distillwatch.share.match import Matcher
from scan_fixtures import account, write_scan

KEY = GroupKey(b"matcher-test-group-key")
FUTURE = "2099-01-01T00:00:00.000Z"


def entry(kind: str, value: str, confidence: int, encoding: str = "plain", **kw: str) -> Entry:
    return Entry(
        kind,
        encoding,
        value,
        confidence,
        kw.get("valid_until", FUTURE),
        kw.get("source", "member-a"),
        kw.get("campaign", "campaign--1"),
        "indicator--1",
        KEY.key_id if encoding != "plain" else None,
    )


def test_pattern_values_reads_or_patterns_and_skips_the_rest() -> None:
    p = (
        "[ipv4-addr:value ISSUBSET '198.18.36.0/23'] OR [autonomous-system:number IN (64512, 7)]"
        " OR [network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' IN "
        "('curl/8 (it\\'s)', 'a, (b)')]"
    )
    assert pattern_values(p) == [
        ("ip_prefix", "198.18.36.0/23"),
        ("asn", "64512"),
        ("asn", "7"),
        ("user_agent", "curl/8 (it's)"),
        ("user_agent", "a, (b)"),
    ]
    assert pattern_values("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']") == []


def test_matcher_blocks_on_strong_evidence_only() -> None:
    m = Matcher(
        [
            entry("ip_prefix", "198.18.36.0/23", 60),
            entry("user_agent", "curl/8", 15),
            entry("template_id", "00ff00ff00ff00ff", 85),
            entry(
                "payment_fingerprint", KEY.hash("payment_fingerprint", "pm_1"), 95, "hmac-sha256"
            ),
        ],
        KEY,
    )
    ts = "2026-11-01T00:00:00Z"
    assert m.match({"ts": ts, "user_agent": "curl/8"}) == []  # weak alone
    assert [x.kind for x in m.evidence({"ts": ts, "user_agent": "curl/8"})] == ["user_agent"]
    assert m.match({"ts": ts, "template_id": 0x00FF00FF00FF00FF}) == []  # 0.85 < 0.9
    both = m.match({"ts": ts, "template_id": 0x00FF00FF00FF00FF, "ip": "198.18.37.200"})
    assert {x.kind for x in both} == {"template_id", "ip_prefix"}
    card = m.match({"ts": ts, "payment_fingerprint": "pm_1", "ip": "10.0.0.1"})
    assert [(x.kind, x.source) for x in card] == [("payment_fingerprint", "member-a")]
    assert str(card[0]).startswith("matches payment_fingerprint")
    made = entry("payment_fingerprint", KEY.hash("payment_fingerprint", "pm_1"), 95, "hmac-sha256")
    foreign = Matcher([Entry(**{**made.__dict__, "key_id": "0123456789abcdef"})], KEY)
    assert foreign.match({"ts": ts, "payment_fingerprint": "pm_1"}) == []  # another key's hash


def test_expired_entries_are_ignored_unless_hunting_history() -> None:
    m = Matcher(
        [
            entry(
                "payment_fingerprint",
                KEY.hash("payment_fingerprint", "pm_1"),
                95,
                "hmac-sha256",
                valid_until="2026-01-01T00:00:00Z",
            )
        ],
        KEY,
    )
    late = {"ts": "2026-06-01T00:00:00Z", "payment_fingerprint": "pm_1"}
    assert m.match(late) == []
    assert m.evidence(late, any_time=True)


def test_blocklist_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "bl.json"
    entries = [entry("asn", "64512", 15)]
    write_blocklist(path, entries, KEY.key_id, 0.8)
    assert read_blocklist(path) == (entries, KEY.key_id, 0.8)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(BlocklistError, match="not a distillwatch-blocklist version 1 file"):
        read_blocklist(path)


def test_entries_from_indicators_and_fingerprints() -> None:
    ind = {
        "type": "indicator",
        "id": "indicator--a",
        "pattern": "[ipv4-addr:value ISSUBSET '198.18.36.0/24']",
        "pattern_type": "stix",
        "confidence": 60,
        "valid_until": FUTURE,
    }
    rel = {
        "type": "relationship",
        "relationship_type": "indicates",
        "source_ref": "indicator--a",
        "target_ref": "campaign--c",
    }
    fp = {
        "type": "distillwatch-fingerprint",
        "id": "distillwatch-fingerprint--f",
        "campaign_ref": "campaign--c",
        "key_id": KEY.key_id,
        "identifiers": [
            {
                "kind": "payment_fingerprint",
                "encoding": "hmac-sha256",
                "values": ["ab"],
                "confidence": 95,
                "valid_until": FUTURE,
            }
        ],
    }
    revoked = {**ind, "id": "indicator--r", "revoked": True}
    got = entries_from([("member-a", o) for o in (ind, rel, fp, revoked)])
    assert [(e.kind, e.campaign, e.key_id) for e in got] == [
        ("ip_prefix", "campaign--c", None),
        ("payment_fingerprint", "campaign--c", KEY.key_id),
    ]


def test_hunt_raises_scores_with_a_reason_naming_the_source(tmp_path: Path) -> None:
    import polars as pl

    scan = write_scan(tmp_path / "scan", [account("acct_1", 0.3), account("acct_2", 0.1)])
    m = Matcher(
        [
            entry(
                "payment_fingerprint",
                KEY.hash("payment_fingerprint", "pm_9"),
                95,
                "hmac-sha256",
                valid_until="2026-01-01T00:00:00Z",
            )
        ],
        KEY,
    )
    rows = pl.DataFrame(
        {
            "account_id": ["acct_1", "acct_2"],
            "ip": ["10.0.0.1", "10.0.0.2"],
            "asn": [1, 2],
            "user_agent": ["a/1", "b/1"],
            "payment_fingerprint": ["pm_9", "pm_0"],
            "email_domain": [None, None],
            "template_id": [1, 2],
        }
    )
    hits = hunt(rows, m)
    assert [h.account_id for h in hits] == ["acct_1"] and hits[0].block
    assert raise_scores(scan, hits, threshold=0.5) == 1
    accounts = {
        json.loads(line)["account_id"]: json.loads(line)
        for line in (scan / "accounts.jsonl").read_text().splitlines()
    }
    raised = accounts["acct_1"]
    assert raised["flagged"] and raised["score"] == pytest.approx(1 - 0.7 * 0.4)
    assert raised["reasons"][0].startswith(
        "matches payment_fingerprint of a campaign shared by member-a"
    )
    assert raised["findings"][0]["kind"] == "SharedCampaignMatch"
    assert accounts["acct_2"]["score"] == 0.1
