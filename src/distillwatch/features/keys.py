"""Link keys: the values accounts share, as ``(account_id, kind, value)`` rows.

Only values shared by at least two accounts are kept (nothing else can link), which keeps the
table small even when every prompt of every casual user is unique.

:func:`link_key_ids` gives the same rows as numbers -- an account's position among the
accounts, a kind's among :data:`KEY_KINDS`, a value's among its kind's values in sorted order
-- so that a large scan's keys (millions of rows) reach linking as three integer columns and
never as strings in the driver's memory; the SQL engine does the numbering, within its own
memory limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from distillwatch.features.sql import ACCOUNT_NO, ACCOUNT_NUMBERS

#: kind -> the column of the ``events`` table that holds its values (read as strings).
KEY_COLUMNS: dict[str, str] = {
    "payment_fingerprint": "payment_fingerprint",
    "organisation": "org_id",
    "ip_prefix": "ip24",
    "user_agent": "user_agent",
    "email_domain": "email_domain",
    "template": "template_id",
    "sketch": "lsh_0",
}
#: The kinds in the order :func:`link_key_ids` numbers them.
KEY_KINDS: tuple[str, ...] = tuple(KEY_COLUMNS)


def _union(kind_column: Any, account: str = "account_id") -> str:
    """Each kind's distinct ``(account, kind, value)`` rows, the value as a string: made
    distinct first and cast after (the template and sketch ids are numbers: casting every
    event's and grouping the strings cost a quarter of the query). ``account``: the column
    naming the account (its id, or its number)."""
    return "\nUNION ALL\n".join(
        f"SELECT {account}, {kind_column(i, kind)} AS kind, CAST({column} AS VARCHAR) AS value "
        f"FROM (SELECT DISTINCT {account}, {column} FROM events WHERE {column} IS NOT NULL)"
        for i, (kind, column) in enumerate(KEY_COLUMNS.items())
    )


def keys_query(max_accounts_per_value: int | None = None) -> str:
    """Distinct shared keys per account; values held by one account only are dropped."""
    union = _union(lambda _, kind: f"'{kind}'")
    upper = f" AND count(*) <= {int(max_accounts_per_value)}" if max_accounts_per_value else ""
    return (
        f"WITH k AS ({union})\n"
        "SELECT k.account_id, k.kind, k.value FROM k JOIN "
        f"(SELECT kind, value FROM k GROUP BY kind, value HAVING count(*) >= 2{upper}) s "
        "ON k.kind = s.kind AND k.value = s.value"
    )


def key_ids_query() -> str:
    """:func:`keys_query`'s rows as ``(kind, account, value)`` integers: the kind's position in
    :data:`KEY_KINDS`, the account's in :func:`key_accounts_query`'s order, the value's among
    the shared values of its kind in sorted order.

    The accounts are numbered by :func:`distillwatch.features.prepare_events` (every event
    carries its account's number, ``account_no``): the distinct rows per kind are made of
    the numbers, not the id strings, and no join names them (0.39 -> 0.27 CPU s on make
    demo's log)."""
    union = _union(lambda i, _: str(i), ACCOUNT_NO)
    return (
        f"WITH k AS ({union}),\n"
        "v AS (SELECT kind, value, row_number() OVER (PARTITION BY kind ORDER BY value) - 1 "
        "AS value_id FROM k GROUP BY kind, value HAVING count(*) >= 2)\n"
        f"SELECT CAST(k.kind AS INTEGER) AS kind, CAST(k.{ACCOUNT_NO} AS INTEGER) AS account, "
        "CAST(v.value_id AS INTEGER) AS value FROM k "
        "JOIN v ON k.kind = v.kind AND k.value = v.value"
    )


def key_accounts_query() -> str:
    """Every account of ``events`` in the order :func:`key_ids_query` numbers them."""
    return f"SELECT account_id FROM {ACCOUNT_NUMBERS} ORDER BY {ACCOUNT_NO}"


@dataclass(frozen=True)
class KeyIds:
    """Link keys as numbers: ``rows`` has integer columns ``kind`` (into ``kinds``),
    ``account`` (into ``accounts``) and ``value`` (the value's rank among its kind's shared
    values: equal numbers are equal values)."""

    accounts: list[str]
    kinds: tuple[str, ...]
    rows: pl.DataFrame


def link_key_ids(con: Any) -> KeyIds:
    """The link keys of ``con``'s ``events`` as :class:`KeyIds` (``con``: a DuckDB connection
    or anything answering ``sql(query).pl()`` the same way, after
    :func:`distillwatch.features.prepare_events`: the accounts' numbers are its)."""
    accounts = con.sql(key_accounts_query()).pl()["account_id"].to_list()
    return KeyIds(accounts, KEY_KINDS, con.sql(key_ids_query()).pl())
