"""Link keys: the values accounts share, as ``(account_id, kind, value)`` rows.

Only values shared by at least two accounts are kept (nothing else can link), which keeps the
table small even when every prompt of every casual user is unique.
"""

from __future__ import annotations

#: kind -> SQL expression over the ``events`` table (cast to a string).
KEY_EXPRESSIONS: dict[str, str] = {
    "payment_fingerprint": "payment_fingerprint",
    "organisation": "org_id",
    "ip_prefix": "ip24",
    "user_agent": "user_agent",
    "email_domain": "email_domain",
    "template": "CAST(template_id AS VARCHAR)",
    "sketch": "CAST(lsh_0 AS VARCHAR)",
}


def keys_query(max_accounts_per_value: int | None = None) -> str:
    """Distinct shared keys per account; values held by one account only are dropped."""
    parts = [
        f"SELECT DISTINCT account_id, '{kind}' AS kind, {expr} AS value "
        f"FROM events WHERE {expr} IS NOT NULL"
        for kind, expr in KEY_EXPRESSIONS.items()
    ]
    union = "\nUNION ALL\n".join(parts)
    upper = f" AND count(*) <= {int(max_accounts_per_value)}" if max_accounts_per_value else ""
    return (
        f"WITH k AS ({union})\n"
        "SELECT k.account_id, k.kind, k.value FROM k JOIN "
        f"(SELECT kind, value FROM k GROUP BY kind, value HAVING count(*) >= 2{upper}) s "
        "ON k.kind = s.kind AND k.value = s.value"
    )
