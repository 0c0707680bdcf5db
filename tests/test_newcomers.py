"""Newcomers on one rare client, each rotating through fresh exits: a link kind of its own."""

from __future__ import annotations

import polars as pl

from distillwatch.detect.link import LinkConfig, link_accounts
from distillwatch.detect.newcomers import (
    KIND,
    newcomer_agent,
    rotating_newcomers,
    with_newcomer_agents,
)
from distillwatch.features.keys import KeyIds

KINDS = ("ip_prefix", "user_agent", "template")


def features(rows: list[tuple]) -> pl.DataFrame:
    """(account, age in days, /24 prefixes, prefix recurrence[, multi-turn share, areas]) per
    account; single questions over eight areas unless given."""
    full = [(*r, 0.0, 8) if len(r) == 4 else r for r in rows]
    return pl.DataFrame(
        full,
        schema={
            "account_id": pl.String,
            "account_age_days": pl.Float64,
            "ip24s": pl.Int64,
            "prefix_recurrence": pl.Float64,
            "multi_turn_share": pl.Float64,
            "capabilities": pl.Int64,
        },
        orient="row",
    )


def agents(accounts: list[str], value_of: dict[str, int]) -> KeyIds:
    """KeyIds holding only user agents: ``value_of`` maps account -> agent number."""
    number = {a: i for i, a in enumerate(accounts)}
    rows = pl.DataFrame(
        {
            "kind": [KINDS.index("user_agent")] * len(value_of),
            "account": [number[a] for a in value_of],
            "value": list(value_of.values()),
        },
        schema={"kind": pl.Int32, "account": pl.Int32, "value": pl.Int32},
    )
    return KeyIds(accounts, KINDS, rows)


def components(accounts: list[str], keys: KeyIds) -> dict[str, int]:
    links = link_accounts(accounts, keys, LinkConfig(min_group=10))
    return dict(zip(links.accounts, links.component.tolist(), strict=True))


def test_rotating_newcomers_on_one_rare_client_are_linked_and_nobody_else() -> None:
    hydra = [f"hy{i}" for i in range(10)]
    veterans = [f"old{i}" for i in range(10)]  # an open-source tool's long-time users
    at_home = [f"home{i}" for i in range(10)]  # a new tool's first users, on their own network
    accounts = hydra + veterans + at_home
    feats = features(
        [(a, 0.5, 6, 0.0) for a in hydra]
        + [(a, 400.0, 6, 0.0) for a in veterans]
        + [(a, 0.5, 1, 1.0) for a in at_home]
    )
    keys = with_newcomer_agents(agents(accounts, {a: 7 for a in accounts}), feats, cap=50)
    assert keys.kinds[-1] == KIND
    assert len(keys.rows.filter(pl.col("kind") == len(KINDS))) == len(hydra)
    comp = components(accounts, keys)
    assert len({comp[a] for a in hydra}) == 1
    assert all(comp[a] != comp["hy0"] for a in veterans + at_home)
    assert len({comp[a] for a in veterans + at_home}) == len(veterans + at_home)


def test_a_popular_client_links_no_newcomers() -> None:
    hydra = [f"hy{i}" for i in range(10)]
    public = [f"user{i}" for i in range(60)]  # everybody's SDK: more holders than the cap
    accounts = hydra + public
    feats = features([(a, 0.5, 6, None) for a in hydra] + [(a, 90.0, 1, 1.0) for a in public])
    keys = with_newcomer_agents(agents(accounts, {a: 3 for a in accounts}), feats, cap=50)
    assert keys.rows.filter(pl.col("kind") == len(KINDS)).is_empty()
    comp = components(accounts, keys)
    assert len({comp[a] for a in hydra}) == len(hydra)


def test_people_chatting_through_an_app_and_narrow_jobs_are_not_harvest_shaped() -> None:
    feats = features(
        [
            ("sweep", 1.0, 5, None, 0.0, 8),
            ("byok-chat", 1.0, 5, None, 0.7, 8),  # a phone app's user: conversations
            ("course", 1.0, 5, None, 0.0, 3),  # a notebook's three exercises
        ]
    )
    assert rotating_newcomers(feats).to_list() == ["sweep"]


def test_unknown_recurrence_counts_and_known_recurring_exits_do_not() -> None:
    feats = features(
        [
            ("fresh", 1.0, 4, None),
            ("proxy", 1.0, 4, 0.1),
            ("phone", 1.0, 4, 0.8),
            ("few", 1.0, 2, None),
        ]
    )
    assert rotating_newcomers(feats).to_list() == ["fresh", "proxy"]


def test_the_online_decision_is_the_same() -> None:
    day = 86400.0
    assert newcomer_agent(10 * day, 9 * day, 3, None)
    assert newcomer_agent(10 * day, 9 * day, 5, 0.2)
    assert not newcomer_agent(10 * day, 9 * day, 5, 0.5)  # its exits come back
    assert not newcomer_agent(10 * day, 9 * day, 2, None)  # one home, one phone
    assert not newcomer_agent(10 * day, 2 * day, 5, None)  # eight days old
    assert not newcomer_agent(10 * day, None, 5, None)  # age unknown
    assert not newcomer_agent(10 * day, 9 * day, 5, None, multi_turn=0.5)  # it chats
    assert not newcomer_agent(10 * day, 9 * day, 5, None, areas=3)  # a narrow job
