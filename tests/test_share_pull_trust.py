"""Pullers trust the hub's attested uploader, cap what one indicator covers, weigh members.

The issue's attack 1 ended at member D: an indicator claiming member A, covering every IPv4
address at confidence 100, made D's matcher block everyone. Each defence is tested here
on its own: the hub's attestation wins over the object's claim (with a forged row as
today's hub stored it), a match-all prefix never reaches the matcher (even from a
hand-edited block list), and per-member weights and corroboration set what a value says.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from distillwatch.share.blocklist import Entry, entries_from, write_blocklist
from distillwatch.share.client import Source, pull
from distillwatch.share.match import Matcher
from distillwatch.share.server import Store, create_app
from distillwatch.share.sync import refresh_blocklist
from distillwatch.share.trust import TrustError, TrustPolicy, apply, parse_trust, too_broad
from test_share_hub_trust import hub_config, indicator, match_all

EVERY_ADDRESS = ("1.2.3.4", "198.18.1.9", "203.0.113.7", "2001:db8::1", "::ffff:10.0.0.1")


def test_pull_trusts_the_hubs_attestation_not_the_objects_claim(tmp_path: Path) -> None:
    """A row as today's hub stored it (uploaded by B, claiming A) is B's at the puller."""
    config = hub_config(tmp_path)
    hub = Store(config.database)
    collection = next(iter(config.collections))
    forged = match_all("member-b", claims="member-a")
    hub.add(collection, [forged, indicator(7, "member-a")], "member-b", "amber")
    imports = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    with TestClient(create_app(config, hub)) as http:
        url = f"http://testserver/isac/collections/{collection}/"
        result = pull(Source(url, "member-d", "secret"), imports, client=cast(httpx.Client, http))
    assert result.fetched == 2 and not result.rejected
    assert {who for _, who, _ in imports.latest(["indicator"])} == {"member-b"}
    path = tmp_path / "blocklist.json"
    refresh_blocklist(imports, path, None)
    entries = orjson.loads(path.read_bytes())["entries"]
    assert [(e["value"], e["source"]) for e in entries] == [("198.18.7.0/24", "member-b")]


def test_an_attesting_hub_vouches_for_every_object() -> None:
    from distillwatch.share.client import PullResult, _sort

    result = PullResult()
    one, two = indicator(1, "member-a"), indicator(2, "member-a")
    good, who = _sort([one, two], {one["id"]: "member-a"}, result)
    assert good == [one] and who == {one["id"]: "member-a"}
    assert result.rejected == [(two["id"], "the hub did not attest who uploaded it")]


def test_match_all_patterns_never_reach_the_matcher(tmp_path: Path) -> None:
    wide = [
        "[ipv4-addr:value ISSUBSET '0.0.0.0/0']",
        "[ipv4-addr:value = '0.0.0.0/1'] OR [ipv4-addr:value ISSUBSET '128.0.0.0/1']",
        "[ipv6-addr:value ISSUBSET '::/0']",
        "[ipv6-addr:value ISSUBSET '::ffff:0:0/96']",  # every IPv4 address, mapped
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",  # wider than the default /16 cap
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '']",
        "[autonomous-system:number = 0]",
    ]
    objects = [
        ("member-a", {**indicator(n, "member-a"), "pattern": p, "confidence": 100})
        for n, p in enumerate(wide)
    ]
    raw = entries_from(objects)
    assert len(raw) == 8  # the parser reads them all ...
    kept, dropped = apply(raw, TrustPolicy())
    assert kept == [] and len(dropped) == 8  # ... and none is let through
    assert "wider than /16" in dict((e.value, why) for e, why in dropped)["10.0.0.0/8"]
    # a hand-edited block list with match-all prefixes still matches nothing
    path = tmp_path / "blocklist.json"
    write_blocklist(path, raw, None, block_at=0.1)
    matcher = Matcher.from_file(path)
    assert all(
        matcher.evidence({"ip": ip, "asn": 0, "user_agent": ""}) == [] for ip in EVERY_ADDRESS
    )


def test_too_broad_names_the_reason() -> None:
    assert too_broad("ip_prefix", "198.18.0.0/24") is None
    assert too_broad("ip_prefix", "0.0.0.0/0") == "0.0.0.0/0 is wider than /8"
    assert too_broad("ip_prefix", "2001:db8::/48") is None
    assert "not an IP prefix" in str(too_broad("ip_prefix", "everything"))
    assert too_broad("asn", "4294967296") is not None and too_broad("asn", "64500") is None


def entry(source: str, kind: str, value: str, confidence: int) -> Entry:
    return Entry(kind, "plain", value, confidence, None, source, f"campaign--{source}", "x")


def test_member_trust_weights_and_ceilings() -> None:
    policy = parse_trust({"default": 0.8, "members": {"member-a": 1.0, "member-b": 0.0}})
    kept, dropped = apply(
        [
            entry("member-a", "template_id", "00000000000000aa", 85),
            entry("member-c", "template_id", "00000000000000bb", 85),
            entry("member-b", "template_id", "00000000000000cc", 100),
            entry("member-a", "asn", "64500", 100),
            entry("member-a (unattested)", "ip_prefix", "198.18.0.0/24", 60),
        ],
        policy,
    )
    got = {e.value: e.confidence for e in kept}
    assert got == {
        "00000000000000aa": 85,  # fully trusted
        "00000000000000bb": 68,  # default weight 0.8
        "64500": 50,  # an ASN never says more than its ceiling on one member's word
        "198.18.0.0/24": 30,  # an unattested claim weighs 0.5, whoever it names
    }
    assert [why for _, why in dropped] == ["member-b is not trusted"]


def test_corroboration_by_several_members_raises_confidence() -> None:
    template = "00000000000000aa"
    alone = Matcher(apply([entry("member-a", "template_id", template, 85)], TrustPolicy())[0])
    assert alone.match({"template_id": template}) == []  # 0.85 < 0.9: not alone
    both = [entry("member-a", "template_id", template, 85)]
    both.append(entry("member-c", "template_id", template, 70))
    kept, _ = apply(both, TrustPolicy())
    assert [(e.confidence, e.shared_by) for e in kept] == [(96, 2), (96, 2)]
    assert len(Matcher(kept).match({"template_id": template})) == 2
    # one member saying it twice (or through an unattested copy) is not corroboration
    same = [entry("member-a", "template_id", template, 85)]
    same.append(entry("member-a (unattested)", "template_id", template, 85))
    assert {e.shared_by for e in apply(same, TrustPolicy())[0]} == {1}


def test_one_member_cannot_cover_the_internet_in_narrow_pieces() -> None:
    """The per-prefix cap bounds one value, not one member: B shares a quarter of IPv4 as
    /16s (16,384 of them, 256 per indicator; all 65,536 would do the same) at confidence
    100. Only a /10's worth (64, first by value) is kept; A's 1,000 scattered /24s are
    untouched."""
    wide = [
        (
            "member-b",
            {
                **indicator(n, "member-b"),
                "confidence": 100,
                "pattern": " OR ".join(
                    f"[ipv4-addr:value ISSUBSET '{n}.{m}.0.0/16']" for m in range(256)
                ),
            },
        )
        for n in range(64)
    ]
    narrow = [
        ("member-a", {**indicator(1000 + n, "member-a"), "pattern": pattern, "confidence": 95})
        for n, pattern in enumerate(
            f"[ipv4-addr:value ISSUBSET '10.{k // 125}.{(k % 125) * 2}.0/24']" for k in range(1000)
        )
    ]
    kept, dropped = apply(entries_from(wide + narrow), TrustPolicy())
    by_member = {m: [e for e in kept if e.source == m] for m in ("member-a", "member-b")}
    assert len(by_member["member-a"]) == 1000
    assert len(by_member["member-b"]) == 64 and len(dropped) == 16384 - 64
    assert {why for _, why in dropped} == {"member-b's prefixes together cover more than a /10"}
    matcher = Matcher(kept)
    assert [len(matcher.match({"ip": ip})) for ip in ("0.1.2.3", "1.2.3.4", "203.0.113.7")] == [
        1,
        0,
        0,
    ]
    assert len(matcher.match({"ip": "10.0.4.1"})) == 1  # A's evidence still blocks
    # hashed /24s count too (a member holds the group key and can hash any prefix)
    hashed = [
        Entry("ip_prefix", "hmac-sha256", f"{n:064x}", 95, None, "member-b", "c", "x")
        for n in range(16_500)
    ]
    assert len(apply(hashed, TrustPolicy())[0]) == 2**22 // 256


def test_trust_file_errors_name_the_key() -> None:
    with pytest.raises(TrustError, match=r"\[members\] member-b must be a number from 0"):
        parse_trust({"members": {"member-b": 2}}, "trust.toml")
    with pytest.raises(TrustError, match="max_ipv4_prefix must be a number from 8 to 32"):
        parse_trust({"max_ipv4_prefix": 0}, "trust.toml")
    with pytest.raises(TrustError, match="unknown key"):
        parse_trust({"trust_everyone": True}, "trust.toml")


def test_another_members_relationship_cannot_move_an_indicator() -> None:
    """B relates A's indicator to a campaign of its own: A's evidence stays A's campaign's."""
    ind = indicator(3, "member-a")

    def indicates(who: str, campaign: str) -> dict:
        return {
            "type": "relationship",
            "id": f"relationship--{who}",
            "relationship_type": "indicates",
            "source_ref": ind["id"],
            "target_ref": f"campaign--{campaign}",
        }

    objects = [
        ("member-a", ind),
        ("member-a", indicates("a", "a-campaign")),
        ("member-b", indicates("b", "b-campaign")),
    ]
    assert [e.campaign for e in entries_from(objects)] == ["campaign--a-campaign"]
    assert [e.campaign for e in entries_from(objects[::-1])] == ["campaign--a-campaign"]


def test_cli_names_a_bad_trust_file_or_tls_option(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillwatch.cli import app

    runner = CliRunner()
    bad = tmp_path / "trust.toml"
    bad.write_text("[members]\nmember-b = 'a lot'\n")
    env = {"DISTILLWATCH_SHARE_PASSWORD": "x", "DISTILLWATCH_SHARE_KEY": "k" * 32}
    url = "http://127.0.0.1:9/isac/collections/x/"
    args = ["share", "pull", "--collection", url, "--user", "member-b", "--trust", str(bad)]
    got = runner.invoke(app, args, env=env)
    assert got.exit_code != 0 and "[members] member-b must be a number" in got.output
    cert = tmp_path / "hub.crt"
    cert.write_text("not a certificate")
    got = runner.invoke(app, ["share", "serve", "--config", str(bad), "--tls-cert", str(cert)])
    assert got.exit_code != 0
    got = runner.invoke(app, [*args[:-2], "--ca-file", str(tmp_path / "none.pem")], env=env)
    assert got.exit_code != 0 and "no CA file" in got.output
