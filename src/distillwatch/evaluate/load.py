"""Ground truth for evaluation: the simulator's ``labels.jsonl``, and its join with a scan.

Only the evaluator reads labels; detection never does. Labels and scan are joined on
``account_id`` with an outer join, so an account the scan never saw still counts (as unflagged,
score 0) and an account the labels do not know is reported rather than silently dropped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from distillwatch.report.scandir import (
    OPT_STRING,
    STRING,
    Field,
    ScanFileError,
    iter_jsonl,
    optional,
    unique_ids,
)

BENIGN = "benign"
ATTACK = "attack"
#: Group name for a labelled account whose population/tactic field is absent.
UNSPECIFIED = "(unspecified)"

LABEL_FIELDS: dict[str, Field] = {
    "account_id": STRING,
    "label": Field("'benign' or 'attack'", lambda v: v in (BENIGN, ATTACK)),
    "population": optional(OPT_STRING),
    "tactic": optional(OPT_STRING),
    "campaign_id": optional(OPT_STRING),
}

LABEL_SCHEMA = {
    "account_id": pl.String,
    "label": pl.String,
    "group": pl.String,
    "true_campaign": pl.String,
}


class NoOverlapError(ValueError):
    """The scan and the labels share no account id: almost surely the wrong pair of files."""


def load_labels(path: Path) -> pl.DataFrame:
    """``labels.jsonl`` as ``account_id, label, group, true_campaign``.

    ``group`` is the benign ``population`` or the attack ``tactic``, whichever the label uses;
    ``true_campaign`` is null for benign accounts (a benign account's campaign id is ignored so
    that a label file cannot make a benign account part of an attack campaign).
    """
    rows = unique_ids(path, iter_jsonl(path, LABEL_FIELDS), "account_id")
    if not rows:
        raise ScanFileError(path, None, "no labelled accounts")
    groups, campaigns = [], []
    for r in rows:
        key = "tactic" if r["label"] == ATTACK else "population"
        groups.append(r.get(key) or r.get("population") or r.get("tactic") or UNSPECIFIED)
        campaigns.append(r.get("campaign_id") if r["label"] == ATTACK else None)
    return pl.DataFrame(
        {
            "account_id": [r["account_id"] for r in rows],
            "label": [r["label"] for r in rows],
            "group": groups,
            "true_campaign": campaigns,
        },
        schema=LABEL_SCHEMA,
    )


def join_scan_labels(accounts: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """One row per account in either input.

    Columns: the label columns, the scan's ``score, flagged, campaign_id, requests`` (an account
    missing from the scan: 0, false, null, 0), and ``in_scan`` / ``in_labels``. Raises
    :class:`NoOverlapError` when no account is in both.
    """
    scan = accounts.select(
        "account_id", "score", "flagged", "campaign_id", "requests", pl.lit(True).alias("in_scan")
    )
    truth = labels.with_columns(pl.lit(True).alias("in_labels"))
    joined = truth.join(scan, on="account_id", how="full", coalesce=True)
    both = joined.filter(pl.col("in_scan") & pl.col("in_labels")).height
    if both == 0:
        raise NoOverlapError(
            f"the scan ({accounts.height:,} accounts) and the labels ({labels.height:,} accounts) "
            "share no account id; are they from the same simulation?"
        )
    in_scan = pl.col("in_scan").fill_null(False)
    return joined.with_columns(
        in_scan,
        pl.col("in_labels").fill_null(False),
        pl.col("score").fill_null(0.0),
        pl.col("flagged").fill_null(False),
        # an account the scan never saw sent it nothing; a scan that leaves out the optional
        # ``requests`` field keeps its nulls, so the volume baseline can say it cannot run
        pl.when(in_scan).then(pl.col("requests")).otherwise(0).alias("requests"),
    ).sort("account_id")
