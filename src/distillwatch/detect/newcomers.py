"""Newcomers on one rare client, each through exits that do not come back.

A quiet hydra gives each of its fresh accounts its own card, free mail and a few residential
exits kept for hours: no two accounts share a card, a mail domain or, mostly, a network. What
they do share is the operator's tool: a client (user agent) that few others send. Two *old*
customers on one rare client say little (an open-source tool's users), and neither do new
users on their own home or office network (an online course, a new tool's first users). New
accounts that each rotate through exits of their own and still run one rare client are, far
more often, one operator -- so that pair of facts is a link kind of its own,
``newcomer_agent``, strong enough to join a pair alone.

Linking is not flagging: the linked group is judged by the cluster checks
(:mod:`.cluster`), which flag only a group that also shows evasion or fraud as a whole, and
call a class or a tool's launch a cohort. Only the *account* side is decided here, from the
account's own features, so a campaign that copies an honest product's client cannot draw the
product's new users into its group unless they too rotate through fresh exits.
"""

from __future__ import annotations

import polars as pl

from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.features.keys import KeyIds

KIND = "newcomer_agent"
#: An account under this many days old at its first request in the window is new.
NEWCOMER_DAYS = 7.0
#: ... rotating: it used this many /24 prefixes or more ...
MIN_PREFIXES = 3
#: ... and of those that had a day to come back, fewer than this share did (unknown counts:
#: a new account's first day cannot tell, and the cluster checks want it known) ...
RECURRENCE = ProxyRotationCheck.proxy_recurrence
#: ... and what it asks has the shape of a harvest, not of a person using an app: single
#: questions (at most this share of requests carry a conversation) ...
MAX_MULTI_TURN = 0.2
#: ... over this many capability areas or more. The users of a bring-your-own-key phone app
#: are new, on phones (fresh CGNAT exits, several networks) and on the app's one client --
#: but they chat (``simulate/lookalikes_byok.py``).
MIN_AREAS = 5


def rotating_newcomers(accounts: pl.DataFrame) -> pl.Series:
    """The ``account_id`` of every new account that rotates through fresh exits."""
    recurrence = pl.col("prefix_recurrence")
    return accounts.filter(
        (pl.col("account_age_days") < NEWCOMER_DAYS)
        & (pl.col("ip24s") >= MIN_PREFIXES)
        & (recurrence.is_null() | (recurrence < RECURRENCE))
        & (pl.col("multi_turn_share").fill_null(0.0) <= MAX_MULTI_TURN)
        & (pl.col("capabilities") >= MIN_AREAS)
    )["account_id"]


def newcomer_agent(
    now_s: float,
    created_s: float | None,
    prefixes: int,
    recurrence: float | None,
    multi_turn: float = 0.0,
    areas: int = MIN_AREAS,
) -> bool:
    """The same decision for the online engine, from one account's running state."""
    if created_s is None or (now_s - created_s) / 86400.0 >= NEWCOMER_DAYS:
        return False
    if multi_turn > MAX_MULTI_TURN or areas < MIN_AREAS:
        return False
    return prefixes >= MIN_PREFIXES and (recurrence is None or recurrence < RECURRENCE)


def with_newcomer_agents(keys: KeyIds, accounts: pl.DataFrame, cap: int) -> KeyIds:
    """``keys`` plus a ``newcomer_agent`` row for each user agent a rotating newcomer holds,
    when no more than ``cap`` accounts of any age hold that agent (a popular SDK says
    nothing, however many newcomers run it)."""
    if "user_agent" not in keys.kinds or KIND in keys.kinds:
        return keys
    ua = keys.kinds.index("user_agent")
    number = {a: i for i, a in enumerate(keys.accounts)}
    chosen = [number[a] for a in rotating_newcomers(accounts).to_list() if a in number]
    agents = keys.rows.filter(pl.col("kind") == ua)
    rare = agents.group_by("value").len().filter(pl.col("len") <= cap)["value"].to_list()
    extra = agents.filter(
        pl.col("account").is_in(chosen) & pl.col("value").is_in(rare)
    ).with_columns(pl.lit(len(keys.kinds), dtype=keys.rows.schema["kind"]).alias("kind"))
    return KeyIds(keys.accounts, (*keys.kinds, KIND), pl.concat([keys.rows, extra]))
