"""What an account's sign-up says: a disposable mail domain is a known fraud marker.

The list is the community-kept ``disposable-email-domains`` blocklist (10,000+ domains of
temporary-mail services), not a list of our own: what honest people use (free mail, privacy
relays, corporate and university domains) is not on it.
"""

from __future__ import annotations

import polars as pl
from disposable_email_domains import blocklist

#: More labels than any listed domain has (they have two to four).
_MAX_LABELS = 8


def is_disposable(domain: str | None) -> bool:
    """True when ``domain`` (or a parent domain of it) is a temporary-mail service."""
    if not domain:
        return False
    # the last few labels are all a listed domain can have; a log field is hostile input, and
    # joining every suffix of a domain of 100,000 labels would be quadratic
    parts = domain.strip().lower().rstrip(".").rsplit(".", _MAX_LABELS)[-_MAX_LABELS:]
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


def with_identity(accounts: pl.DataFrame) -> pl.DataFrame:
    """``accounts`` plus ``disposable_email`` (bool) from its ``email_domain`` column (as it
    is, when it has one already: the column is derived, and a Python call per account)."""
    if "disposable_email" in accounts.columns:
        return accounts
    if "email_domain" not in accounts.columns:
        return accounts.with_columns(pl.lit(False).alias("disposable_email"))
    return accounts.with_columns(
        pl.col("email_domain")
        .map_elements(is_disposable, return_dtype=pl.Boolean, skip_nulls=False)
        .alias("disposable_email")
    )
