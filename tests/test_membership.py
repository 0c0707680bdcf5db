"""A group's distinctive evidence flags only the members that show some of it themselves.

An aged account on one home network that pays with a card a hydra also uses (a family
member's card a ring bought, a company card leaked) is linked into the hydra's group; the
group is judged a hydra, and the old account must not be flagged by the group's evidence --
in scan and online alike -- while the hydra's own accounts still are.
"""

from __future__ import annotations

import math
from pathlib import Path

from builders import SWEEP, hydra, record, rules_engine_after, write_log
from distillwatch.detect.membership import bystander, shows_group_evidence
from distillwatch.online.engine import OnlineEngine, enrich_records
from distillwatch.scan import run_scan
from ingest_helpers import read_jsonl

SETTLED = {"account_age_days": 400.0, "asns": 1, "prefix_recurrence": 1.0}


def test_what_makes_a_member_show_its_groups_evidence() -> None:
    assert not shows_group_evidence(SETTLED)
    assert bystander(SETTLED) is not None
    assert shows_group_evidence({**SETTLED, "disposable_email": True})  # throw-away mail
    assert shows_group_evidence({**SETTLED, "asns": 4})  # hops like a pool's account
    assert shows_group_evidence({**SETTLED, "prefix_recurrence": 0.1})  # its exits are fresh
    # new, before its exits have had a day to come back: it may be the group's
    assert shows_group_evidence({**SETTLED, "account_age_days": 2.0, "prefix_recurrence": None})
    # new, at home on exits that come back: a new customer (a family member on the card)
    assert not shows_group_evidence({**SETTLED, "account_age_days": 0.1})
    # unknown is not evidence: an account of unknown age with unknown recurrence, settled
    unknown = {"account_age_days": math.nan, "asns": 1, "prefix_recurrence": None}
    assert not shows_group_evidence(unknown)
    assert "itself of unknown age" in str(bystander(unknown))
    assert "itself 400 days old, on 1 network(s)" in str(bystander(SETTLED))


def _bystander_records() -> list[dict]:
    """Twelve days of an old account on its home network, paying with the hydra's card."""
    return [
        record(
            "old-family",
            i,
            f"Can you suggest a dinner recipe with {('leeks', 'beans', 'rice')[i % 3]}?",
            i * 7200.0,
            ip="198.51.100.7",
            asn=64999,
            payment_fingerprint="pf-shared-0",
            email_domain="gmail.com",
            account_created="2024-03-01T00:00:00Z",
        )
        for i in range(12)
    ]


def _records() -> list[dict]:
    return sorted(hydra("hy", 30, 12) + _bystander_records(), key=lambda r: r["ts"])


def test_scan_does_not_flag_a_settled_account_by_its_groups_evidence(tmp_path: Path) -> None:
    run_scan([write_log(tmp_path / "log.jsonl", _records())], tmp_path / "out", learned=False)
    accounts = {a["account_id"]: a for a in read_jsonl(tmp_path / "out" / "accounts.jsonl")}
    old = accounts["old-family"]
    assert accounts["hy0"]["flagged"] and accounts["hy0"]["distinctive"]
    # linked (same card); the group is judged on its 30 voters, not on the settled account
    assert any("one of 30 linked accounts" in r for r in old["reasons"])
    assert not old["flagged"] and not old["distinctive"] and old["campaign_id"] is None
    assert "not its own" in old["reasons"][0]  # first: why the group's evidence is not its
    assert all(accounts[f"hy{a}"]["flagged"] for a in range(30))


def test_online_the_group_does_not_flag_a_settled_member() -> None:
    engine = rules_engine_after(_records())
    assert engine.clusters.find("old-family") == engine.clusters.find("hy0")
    member, old = engine.current("hy0"), engine.current("old-family")
    assert member.distinctive and "hydra_cluster" in member.tactics
    assert not old.distinctive
    assert "not its own" in old.reasons[0]


def test_sweep_prompts_are_not_what_keeps_the_old_account_out() -> None:
    """The same old account asking the hydra's own sweep questions is still a bystander: what
    it asks is shared evidence; what the group did is not its own."""
    asks = [{**r, "messages": [{"role": "user", "content": SWEEP[i % len(SWEEP)]}]}
            for i, r in enumerate(_bystander_records())]  # fmt: skip
    engine = OnlineEngine(learned=False)
    rows, _ = enrich_records(sorted(hydra("hy", 30, 12) + asks, key=lambda r: r["ts"]))
    for row in rows:
        engine.observe(row)
    assert not engine.current("old-family").distinctive
