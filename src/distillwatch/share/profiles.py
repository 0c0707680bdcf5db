"""What a scan directory says about campaigns beyond ``campaigns.jsonl``.

``features.parquet`` (distillwatch's per-account aggregates, written next to the contract
files) gives each campaign a timing profile, and tells which indicator values also occur in
the member's *other* traffic -- values that must not be shared as signs of a campaign.
Both are optional: a scan from another tool without the file still exports.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

FEATURES_FILE = "features.parquet"

#: timing-profile entry -> per-account feature it is the campaign median of.
TIMING: dict[str, str] = {
    "gap_median_s": "gap_median_s",
    "gap_cv": "gap_cv",
    "fast_gap_share": "fast_gap_share",
    "active_hours_of_day": "active_hours_of_day",
    "span_hours": "span_hours",
    "requests_per_account": "requests",
    "hour_of_day_entropy": "hour_of_day_entropy",
    "account_age_days": "account_age_days",
}
#: scan indicator field -> per-account feature holding that identifier.
IDENTIFIER_FEATURES = {
    "payment_fingerprints": "payment_fingerprint",
    "email_domains": "email_domain",
}


def load_features(scan_dir: Path) -> pl.DataFrame | None:
    path = scan_dir / FEATURES_FILE
    if not path.exists():
        return None
    return pl.read_parquet(path)


def _number(value: Any) -> float | None:
    if value is None or not isinstance(value, int | float) or math.isnan(value):
        return None
    return round(float(value), 4)


def timing_profile(features: pl.DataFrame | None, accounts: list[str]) -> dict[str, float | None]:
    """Medians of the timing features over a campaign's accounts (empty without features)."""
    if features is None:
        return {}
    rows = features.filter(pl.col("account_id").is_in(accounts))
    if rows.is_empty():
        return {}
    return {
        name: _number(rows[col].median()) for name, col in TIMING.items() if col in rows.columns
    }


def seen_outside(features: pl.DataFrame | None, campaign_accounts: set[str]) -> dict[str, set[str]]:
    """Identifier values used by accounts that are in no campaign (field -> values)."""
    if features is None:
        return {}
    others = features.filter(~pl.col("account_id").is_in(list(campaign_accounts)))
    out: dict[str, set[str]] = {}
    for field, col in IDENTIFIER_FEATURES.items():
        if col in others.columns:
            out[field] = {str(v) for v in others[col].drop_nulls().unique().to_list()}
    return out
