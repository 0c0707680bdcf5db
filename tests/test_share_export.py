"""Export: a scan's campaigns -> a STIX 2.1 bundle under a sharing policy."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.share import audit, tlp
from distillwatch.share.export import build_bundle
from distillwatch.share.extension import FINGERPRINT_TYPE
from distillwatch.share.indicators import covering_cidrs, per_24
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import PolicyError, load_policy, parse_policy
from distillwatch.share.validate import oasis_problems, schema_problems
from scan_fixtures import START, account, campaign, cid, sample, write_scan

KEY = GroupKey(b"test-group-key-0123456789")
NOW = START + dt.timedelta(days=1)


def hydra_scan(out: Path, **indicators: Any) -> Path:
    members = [account(f"acct_h{i}", 0.97, True, cid(1)) for i in range(4)]
    c = campaign(cid(1), members, tactics=("hydra_cluster", "cot_harvesting", "new_tactic"))
    c["indicators"] = {
        "ip_prefixes": ["198.18.36.0/24", "198.18.37.0/24", "100.64.1.0/24"],
        "asns": [64512, 64999],
        "user_agents": ["python-requests/2.31", "worker/1 (ops@acme-labs.example)"],
        "payment_fingerprints": ["pm_secretcard01"],
        "email_domains": ["mailinator.com"],
        "template_ids": ["00ff00ff00ff00ff"],
        **indicators,
    }
    benign = [account("acct_b1"), account("acct_b2")]
    samples = [sample("acct_h0", cid(1), "Explain step by step how to bake bread")]
    return write_scan(out, members + benign, [c], samples)


def export(tmp_path: Path, **kw: Any) -> Any:
    return build_bundle(hydra_scan(tmp_path / "scan"), load_policy(None), KEY, now=NOW, **kw)


def by_type(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["type"] == kind]


def test_bundle_passes_the_oasis_validator_in_strict_mode(tmp_path: Path) -> None:
    result = export(tmp_path)
    assert oasis_problems(result.objects, strict=True) == []
    kinds = {o["type"] for o in result.objects}
    assert {"campaign", "infrastructure", "indicator", "attack-pattern", "relationship"} <= kinds
    assert {"sighting", "identity", "marking-definition", "extension-definition"} <= kinds
    assert FINGERPRINT_TYPE in kinds


def test_ip_prefixes_are_aggregated_to_covering_cidrs() -> None:
    assert covering_cidrs(["10.0.0.0/24", "10.0.1.0/24", "10.0.3.0/24", "bad"]) == [
        "10.0.0.0/23",
        "10.0.3.0/24",
    ]
    assert per_24(["10.0.0.0/23"]) == ["10.0.0.0/24", "10.0.1.0/24"]


def test_indicators_carry_patterns_confidence_and_kind_specific_decay(tmp_path: Path) -> None:
    result = export(tmp_path)
    indicators = {o["name"].split(" of ")[0]: o for o in by_type(result.objects, "indicator")}
    ips = indicators["ip prefixes"]
    assert "[ipv4-addr:value ISSUBSET '198.18.36.0/23']" in ips["pattern"]
    assert ips["confidence"] == 60
    asn = indicators["asns"]
    assert asn["pattern"] == "[autonomous-system:number IN (64512, 64999)]"
    last = dt.datetime.fromisoformat(result.objects[0]["created"].replace("Z", "+00:00"))
    assert last  # identity has a created timestamp
    until_ip = dt.datetime.fromisoformat(ips["valid_until"].replace("Z", "+00:00"))
    until_asn = dt.datetime.fromisoformat(asn["valid_until"].replace("Z", "+00:00"))
    assert (until_asn - until_ip).days == 7  # ASNs (14 d) outlive proxy prefixes (7 d)


def test_identifiers_leave_only_as_keyed_hashes(tmp_path: Path) -> None:
    result = export(tmp_path)
    text = json.dumps(result.bundle)
    assert "pm_secretcard01" not in text and "mailinator.com" not in text
    assert "ops@acme-labs.example" not in text  # an identifying user agent is hashed
    fps = by_type(result.objects, FINGERPRINT_TYPE)  # one per TLP level
    assert len(fps) == 2
    (fp,) = [f for f in fps if f["object_marking_refs"] == [tlp.marking_id("amber")]]
    ids = {i["kind"]: i for i in fp["identifiers"]}
    assert ids["payment_fingerprint"]["values"] == [
        KEY.hash("payment_fingerprint", "pm_secretcard01")
    ]
    assert ids["payment_fingerprint"]["encoding"] == "hmac-sha256"
    assert fp["key_id"] == KEY.key_id
    assert schema_problems(fp) == []
    assert schema_problems({**fp, "identifiers": [{"kind": "prompt", "values": ["x"]}]})


def test_tlp_markings_are_tlp2_with_official_ids_and_clearance_filters(tmp_path: Path) -> None:
    result = export(tmp_path)
    markings = {o["id"]: o for o in by_type(result.objects, "marking-definition")}
    assert tlp.TLP2_IDS["amber"] in markings and tlp.TLP2_IDS["green"] in markings
    assert markings[tlp.TLP2_IDS["amber"]]["name"] == "TLP:AMBER"
    policy = parse_policy(
        load_policy(None).source and _policy_text(recipients='member-b = "green"'), "p.toml"
    )
    scan = tmp_path / "scan"
    green = build_bundle(scan, policy, KEY, recipients=["member-b"], now=NOW)
    assert green.dropped_by_tlp > 0
    for obj in green.objects:
        level = tlp.level_of(obj.get("object_marking_refs", []), "clear")
        assert level is not None and tlp.rank(level) <= tlp.rank("green"), obj["id"]
    ids = {o["id"] for o in green.objects}
    for rel in by_type(green.objects, "relationship"):
        assert rel["source_ref"] in ids and rel["target_ref"] in ids
    assert not by_type(green.objects, "campaign")  # AMBER by default


def _policy_text(recipients: str = 'member-b = "amber"', fields: str = "") -> str:
    return f"""
[policy]
name = "t"
producer = "member-a"
[recipients]
{recipients}
[fields]
ip_prefixes = {{ share = "plain", tlp = "green", valid_days = 7, confidence = 60 }}
asns = {{ share = "plain", tlp = "green" }}
payment_fingerprints = {{ share = "hmac", tlp = "amber", confidence = 95 }}
tactics = "plain"
{fields}
"""


def test_fields_not_in_the_policy_never_leave(tmp_path: Path) -> None:
    policy = parse_policy(_policy_text(), "p.toml")
    result = build_bundle(hydra_scan(tmp_path / "scan"), policy, KEY, now=NOW)
    text = json.dumps(result.bundle)
    assert "python-requests" not in text  # user agents not listed
    assert "00ff00ff00ff00ff" not in text  # templates not listed
    assert "capability_profile" not in text and not by_type(result.objects, "sighting")


def test_policy_errors_name_the_file_and_key() -> None:
    with pytest.raises(PolicyError, match=r"p.toml: \[fields\] prompts: unknown field"):
        parse_policy(_policy_text(fields='prompts = "plain"'), "p.toml")
    with pytest.raises(PolicyError, match="share = 'plain' is not allowed; use hmac or drop"):
        parse_policy(_policy_text().replace('share = "hmac"', 'share = "plain"'), "p.toml")
    with pytest.raises(PolicyError, match="does not allow exports to member-z"):
        parse_policy(_policy_text(), "p.toml").clearance(["member-z"])
    with pytest.raises(PolicyError, match="unknown TLP level 'purple'"):
        parse_policy(_policy_text(recipients='member-b = "purple"'), "p.toml")


def test_campaigns_below_the_policy_minimum_stay_home(tmp_path: Path) -> None:
    scan = hydra_scan(tmp_path / "scan")
    policy = parse_policy(
        _policy_text().replace(
            'producer = "member-a"', 'producer = "member-a"\nmin_campaign_score = 0.99'
        ),
        "p",
    )
    result = build_bundle(scan, policy, KEY, now=NOW)
    assert result.campaigns == [] and result.skipped[0][0] == cid(1)
    assert not by_type(result.objects, "campaign")


def test_decayed_indicators_are_not_exported(tmp_path: Path) -> None:
    scan = hydra_scan(tmp_path / "scan")
    late = build_bundle(scan, load_policy(None), KEY, now=NOW + dt.timedelta(days=10))
    (report,) = late.campaigns
    assert "ip_prefixes" in report.expired and "asns" not in report.expired
    assert not any(o["name"].startswith("ip prefixes") for o in by_type(late.objects, "indicator"))


def test_values_seen_outside_the_campaign_are_withheld(tmp_path: Path) -> None:
    import polars as pl

    traffic = pl.DataFrame(
        {
            "account_id": ["acct_b1"],
            "ip": ["198.18.37.9"],
            "asn": [64999],
            "user_agent": ["python-requests/2.31"],
            "payment_fingerprint": [None],
            "email_domain": ["mailinator.com"],
            "template_id": [0x00FF00FF00FF00FF],
        },
        schema_overrides={"template_id": pl.UInt64, "payment_fingerprint": pl.String},
    )
    result = export(tmp_path, traffic=traffic)
    (report,) = result.campaigns
    assert report.withheld == {
        "ip_prefixes": 1,
        "asns": 1,
        "user_agents": 1,
        "email_domains": 1,
        "template_ids": 1,
    }
    ips = [o for o in by_type(result.objects, "indicator") if o["name"].startswith("ip")]
    assert "198.18.37.0" not in ips[0]["pattern"] and "198.18.36.0/24" in ips[0]["pattern"]


def test_attack_patterns_reference_atlas_where_one_fits(tmp_path: Path) -> None:
    aps = {o["name"]: o for o in by_type(export(tmp_path).objects, "attack-pattern")}
    refs = aps["Hydra cluster of light accounts"]["external_references"]
    atlas = [r["external_id"] for r in refs if r["source_name"] == "mitre-atlas"]
    assert atlas == ["AML.T0021", "AML.T0024.002"]
    assert len(aps) == 2  # "new_tactic" is not in the vocabulary: free text never leaves


def test_a_thousand_scattered_prefixes_leave_in_patterns_the_validator_can_parse(
    tmp_path: Path,
) -> None:
    """A hydra on residential proxies: 1,000 /24s that aggregate to nothing. One pattern
    OR-ing them all made the OASIS pattern parser recurse past Python's limit (export
    crashed); they leave as parts of at most 200 comparisons, every prefix kept."""
    from distillwatch.share.indicators import PATTERN_TERMS
    from distillwatch.share.stixbase import sid

    prefixes = [f"10.{n // 125}.{(n % 125) * 2}.0/24" for n in range(1000)]
    result = build_bundle(
        hydra_scan(tmp_path / "scan", ip_prefixes=prefixes), load_policy(None), KEY, now=NOW
    )
    parts = [o for o in by_type(result.objects, "indicator") if "ip prefixes" in o["name"]]
    assert len(parts) == 1000 // PATTERN_TERMS
    assert parts[0]["id"] == sid("indicator", "member-a", cid(1), "ip_prefixes")  # as before
    shared = [v for o in parts for v in re.findall(r"'([0-9./]+)'", o["pattern"])]
    assert sorted(shared) == sorted(prefixes)
    assert all(o["pattern"].count(" OR ") < PATTERN_TERMS for o in parts)
    assert oasis_problems(result.objects, strict=True) == []
    indicated = {r["source_ref"] for r in by_type(result.objects, "relationship")}
    sighted = {s["sighting_of_ref"] for s in by_type(result.objects, "sighting")}
    assert {o["id"] for o in parts} <= indicated & sighted


def test_same_campaign_exported_twice_keeps_its_ids(tmp_path: Path) -> None:
    scan = hydra_scan(tmp_path / "scan")
    one = build_bundle(scan, load_policy(None), KEY, now=NOW)
    two = build_bundle(scan, load_policy(None), KEY, now=NOW + dt.timedelta(hours=1))
    assert {o["id"] for o in one.objects} == {o["id"] for o in two.objects}
    assert one.bundle["id"] != two.bundle["id"]


def test_cli_export_validates_writes_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = hydra_scan(tmp_path / "scan")
    # the scan is "recent": its campaign was last seen an hour ago
    rows = [json.loads(line) for line in (scan / "campaigns.jsonl").read_text().splitlines()]
    now = dt.datetime.now(dt.UTC)
    rows[0]["last_seen"] = (now - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    rows[0]["first_seen"] = (now - dt.timedelta(hours=5)).isoformat().replace("+00:00", "Z")
    (scan / "campaigns.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    key = tmp_path / "group.key"
    key.write_bytes(b"a-group-key-of-enough-bytes")
    log = tmp_path / "audit.jsonl"
    runner = CliRunner()
    args = ["share", "export", "--scan", str(scan), "--key-file", str(key), "--audit-log", str(log)]
    for i in (1, 2):
        res = runner.invoke(app, [*args, "--out", str(tmp_path / f"b{i}.json")])
        assert res.exit_code == 0, res.output
    bundle = json.loads((tmp_path / "b1.json").read_text())
    assert any(o["type"] == "indicator" for o in bundle["objects"])
    entries = audit.read(log)
    assert [e["action"] for e in entries] == ["export", "export"]
    assert entries[0]["recipients"] == ["member-b", "member-c"]
    assert entries[0]["campaigns"][0]["fields"]["payment_fingerprints"]["encoding"] == "hmac-sha256"
    assert "pm_secretcard01" not in log.read_text()
    lines = log.read_bytes().splitlines()
    log.write_bytes(lines[0].replace(b'"export"', b'"exp0rt"') + b"\n" + lines[1] + b"\n")
    with pytest.raises(audit.AuditError, match=":2: chain broken"):
        audit.read(log)
    res = runner.invoke(app, ["share", "preview", "--scan", str(scan), "--key-file", str(key)])
    assert res.exit_code == 0, res.output
    assert "payment_fingerprints" in res.output and "hmac-sha256" in res.output
    assert "never leave" in res.output
    monkeypatch.delenv("DISTILLWATCH_SHARE_KEY", raising=False)
    res = runner.invoke(app, [*args[:4], "--out", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "no group key" in res.output
