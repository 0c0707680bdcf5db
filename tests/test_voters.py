"""A linked group is judged on its voters: aged, settled accounts put on a hydra's cards on
purpose (decoys) must not turn it into a cohort -- in scan and online alike -- and are
still never flagged by the group's evidence themselves."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import polars as pl

from builders import hydra, record, rules_engine_after, write_log
from distillwatch.detect.voters import votes, votes_one
from distillwatch.scan import run_scan
from ingest_helpers import read_jsonl

HYDRA, DECOYS = 10, 12


def test_the_vectorised_rule_is_the_per_member_rule() -> None:
    grid = [
        {
            "account_age_days": age,
            "disposable_email": disposable,
            "asns": asns,
            "prefix_recurrence": recurrence,
        }
        for age, disposable, asns, recurrence in itertools.product(
            (None, math.nan, 0.5, 6.9, 7.0, 400.0),
            (False, True),
            (1, 3, 4, 9),
            (None, math.nan, 0.0, 0.29, 0.3, 1.0),
        )
    ]
    frame = pl.DataFrame(grid, schema_overrides={"account_age_days": pl.Float64,
                                                 "prefix_recurrence": pl.Float64})  # fmt: skip
    assert frame.select(votes()).to_series().to_list() == [votes_one(m) for m in grid]
    settled_old = {"account_age_days": 400.0, "asns": 1, "prefix_recurrence": 1.0}
    assert not votes_one(settled_old)  # a decoy's shape
    assert votes_one({**settled_old, "account_age_days": 1.0})  # new members always vote
    assert votes_one({**settled_old, "prefix_recurrence": 0.1})  # its exits do not come back


def _decoys() -> list[dict]:
    """Aged accounts chatting from home for four days, each paying with a hydra card."""
    return [
        record(
            f"decoy{d}",
            i,
            f"Any ideas for a weekend trip near {('Lyon', 'Porto', 'Graz')[i % 3]}?",
            i * 8000.0 + d * 50.0,
            ip=f"198.51.100.{d + 10}",
            asn=64900 + d,
            payment_fingerprint=f"pf-shared-{d % 3}",
            email_domain="gmail.com",
            account_created="2023-05-01T00:00:00Z",
        )
        for d in range(DECOYS)
        for i in range(44)
    ]


def _records() -> list[dict]:
    return sorted(hydra("hy", HYDRA, 12) + _decoys(), key=lambda r: r["ts"])


def test_scan_judges_the_hydra_on_its_voters(tmp_path: Path) -> None:
    run_scan([write_log(tmp_path / "log.jsonl", _records())], tmp_path / "out", learned=False)
    accounts = {a["account_id"]: a for a in read_jsonl(tmp_path / "out" / "accounts.jsonl")}
    assert all(accounts[f"hy{a}"]["flagged"] for a in range(HYDRA))
    decoys = [accounts[f"decoy{d}"] for d in range(DECOYS)]
    assert not any(d["flagged"] for d in decoys)
    # linked (same card), judged with the group and told apart from it
    assert "not its own" in accounts["decoy0"]["reasons"][0]
    assert any(f"one of {HYDRA} linked accounts" in r for r in accounts["hy1"]["reasons"])


def test_online_judges_the_hydra_on_its_voters() -> None:
    engine = rules_engine_after(_records())
    assert engine.clusters.find("decoy0") == engine.clusters.find("hy0")
    member, decoy = engine.current("hy0"), engine.current("decoy0")
    assert member.distinctive and member.score >= 0.5
    assert not decoy.distinctive
