"""Weak pairs found from the cheap side equal all pairs' noisy-OR; bounded per account;
linking the same keys in any row order gives the same campaigns and evidence."""

from __future__ import annotations

import itertools
import random

import numpy as np
import polars as pl
import pytest

from distillwatch.detect.candidates import Kinds, enumerated_kinds, weak_edges
from distillwatch.detect.holdings import load
from distillwatch.detect.link import LinkConfig, link_accounts

WEAK = ("email_domain", "ip_prefix", "sketch", "template", "user_agent")


def keys(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    schema = {"account_id": pl.String, "kind": pl.String, "value": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def random_keys(rng: random.Random, n: int) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Accounts in a few overlapping 'clusters', each kind drawn from a small value pool so
    groups of every size occur (some past the cap)."""
    accounts = [f"a{i:03d}" for i in range(n)]
    rows = []
    for i, a in enumerate(accounts):
        cluster = i % 7
        for kind in WEAK:
            for _ in range(rng.choice([0, 1, 1, 2, 5])):
                pool = rng.choice([2, 5, 30])
                value = f"{cluster if rng.random() < 0.8 else 'x'}-{rng.randrange(pool)}"
                rows.append((a, kind, value))
        if rng.random() < 0.1:
            rows.append((a, "payment_fingerprint", f"pf{cluster}"))
    return accounts, rows


def brute_force(
    accounts: list[str], rows: list[tuple[str, str, str]], config: LinkConfig, cap: int
) -> dict[tuple[int, int], float]:
    """Every pair of every capped group, noisy-OR over families of the strongest kind."""
    index = {a: i for i, a in enumerate(accounts)}
    groups: dict[tuple[str, str], set[int]] = {}
    for a, kind, value in rows:
        if kind in WEAK:
            groups.setdefault((kind, value), set()).add(index[a])
    shared: dict[tuple[int, int], set[str]] = {}
    common: dict[tuple[tuple[int, int], str], int] = {}
    for (kind, _), members in groups.items():
        if 2 <= len(members) <= cap:
            for pair in itertools.combinations(sorted(members), 2):
                shared.setdefault(pair, set()).add(kind)
                common[pair, kind] = common.get((pair, kind), 0) + 1
    for derived, (base, least) in config.several.items():  # e.g. three templates in common
        for pair, kinds in shared.items():
            if common.get((pair, base), 0) >= least:
                kinds.add(derived)
    out = {}
    for pair, kinds in shared.items():
        best: dict[str, float] = {}
        for kind in kinds:
            family = config.families.get(kind, kind)
            best[family] = max(best.get(family, 0.0), config.confidence[kind])
        conf = 1.0 - float(np.prod([1.0 - c for c in best.values()]))
        if conf >= config.threshold - 1e-12:
            out[pair] = conf
    return out


def found(
    accounts: list[str], rows: list[tuple[str, str, str]], config: LinkConfig, cap: int, **kw
) -> dict[tuple[int, int], float]:
    kinds = Kinds.of(config.confidence, config.families, config.several)
    held = load(accounts, keys(rows), {k: cap for k in WEAK})
    edges = weak_edges(held, kinds, config.threshold, **kw)
    n = len(accounts)
    return {
        (c // n, c % n): conf
        for c, conf in zip(edges.codes.tolist(), edges.confidence.tolist(), strict=True)
    }


CONFIGS = [
    LinkConfig(),
    LinkConfig(threshold=0.45),  # content plus one kind of infrastructure
    LinkConfig(threshold=0.35),  # any two kinds, or a template alone: nothing to prune
    LinkConfig(threshold=0.5),  # several templates alone reach it: content is enumerated
    LinkConfig(several={}),  # one template counts as many
    LinkConfig(
        confidence={**LinkConfig().confidence, "user_agent": 0.5, "template": 0.2},
        threshold=0.66,
    ),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"t{c.threshold}")
def test_weak_pairs_equal_the_noisy_or_of_all_pairs(seed: int, config: LinkConfig) -> None:
    accounts, rows = random_keys(random.Random(seed), 90)
    expect = brute_force(accounts, rows, config, cap=20)
    assert expect  # the draw has joined pairs to find
    # tiny budgets: many blocks of accounts, probes split into many parts
    got = found(accounts, rows, config, cap=20, degree=10_000, budget=37)
    assert got.keys() == expect.keys()
    for pair, conf in expect.items():
        assert got[pair] == pytest.approx(conf, abs=1e-12)
    assert got == found(accounts, rows, config, cap=20, degree=10_000)


def test_only_the_kinds_a_joined_pair_needs_are_enumerated() -> None:
    accounts, rows = random_keys(random.Random(1), 60)
    config = LinkConfig()
    kinds = Kinds.of(config.confidence, config.families, config.several)
    held = load(accounts, keys(rows), {k: 20 for k in WEAK})
    # what is left out cannot reach 0.6 together (three templates count 0.5 when templates
    # are left out); the rest is only checked
    chosen = enumerated_kinds(held, kinds, kinds.table(), config.threshold)
    assert 0 < len(chosen) < len(WEAK)
    rest = [k for k in WEAK if k not in chosen]
    assert kinds.table()[kinds.bits(rest + kinds.derived_from(rest))] < config.threshold


def test_each_account_keeps_at_most_degree_of_its_best_pairs() -> None:
    # 40 accounts all sharing a /24, a UA and a template: 780 joined pairs at 0.664; four of
    # them also share a mail domain (0.748): those pairs are every one of their top picks
    accounts = [f"h{i:02d}" for i in range(40)]
    rows = [(a, k, "v") for a in accounts for k in ("ip_prefix", "user_agent", "template")]
    rows += [(a, "email_domain", "d") for a in accounts[:4]]
    config = LinkConfig()
    everything = found(accounts, rows, config, cap=50, degree=10_000)
    assert len(everything) == 40 * 39 // 2
    kept = found(accounts, rows, config, cap=50, degree=5)
    assert len(kept) <= 40 * 5
    degree = np.bincount(np.asarray(list(kept)).ravel(), minlength=40)
    assert degree.min() >= 5  # an account's own picks are kept, plus those that picked it
    for a, b in itertools.combinations(range(4), 2):
        assert kept[(a, b)] == pytest.approx(everything[(a, b)])
    assert sum(conf > 0.7 for conf in kept.values()) == 6
    # and the bounded graph is still one campaign
    links = link_accounts(accounts, keys(rows), LinkConfig(degree=5, min_group=50))
    assert len(set(links.component.tolist())) == 1


def test_the_same_keys_in_any_order_give_the_same_links() -> None:
    accounts, rows = random_keys(random.Random(2), 120)
    rows += [(f"a{i:03d}", "payment_fingerprint", "shared-card") for i in range(0, 120, 3)]
    first = link_accounts(accounts, keys(rows))
    shuffled = rows[:]
    random.Random(9).shuffle(shuffled)
    again = link_accounts(accounts, keys(shuffled + shuffled[:50]))  # and some rows twice
    assert np.array_equal(first.component, again.component)
    assert first.kinds == again.kinds
    assert first.graph is not None and again.graph is not None
    assert np.array_equal(first.graph.codes, again.graph.codes)
    assert np.array_equal(first.graph.kinds, again.graph.kinds)


def test_evidence_counts_pairs_per_group_inside_a_campaign() -> None:
    accounts = [f"h{i}" for i in range(10)] + ["x"]
    rows = [(f"h{i}", "payment_fingerprint", "pf") for i in range(10)]
    rows += [(f"h{i}", "template", f"t{i % 2}") for i in range(10)]  # two groups of 5
    rows += [(f"h{i}", "template", "all") for i in range(10)] + [("x", "template", "all")]
    links = link_accounts(accounts, keys(rows))
    counts = links.kinds[int(links.component[0])]
    assert counts["template"] == 2 * 10 + 45  # x is in a community of its own
    assert counts["payment_fingerprint"] >= 9


def test_keys_of_unknown_accounts_and_kinds_are_ignored() -> None:
    rows = [("a", "payment_fingerprint", "pf"), ("b", "payment_fingerprint", "pf")]
    rows += [
        ("ghost", "payment_fingerprint", "pf"),
        ("a", "telepathy", "t"),
        ("b", "telepathy", "t"),
    ]
    links = link_accounts(["a", "b"], keys(rows))
    assert links.kinds[int(links.component[0])] == {"payment_fingerprint": 1}


def test_keys_numbered_by_the_sql_engine_link_as_the_strings_do() -> None:
    import duckdb

    from distillwatch.features.keys import keys_query, link_key_ids
    from distillwatch.features.sql import account_numbers_query

    rng = random.Random(5)
    rows = []
    for i in range(150):
        for _ in range(rng.randrange(1, 6)):
            rows.append(
                {
                    "account_id": f"acct-{i:03d}",
                    "payment_fingerprint": f"pf{i % 3}" if i % 4 == 0 else None,
                    "org_id": "org-1" if i in (5, 6) else None,
                    "ip24": f"10.{i % 7}.{rng.randrange(3)}",
                    "user_agent": f"ua/{(i * 7) % 5}",
                    "email_domain": rng.choice(["a.example", "b.example", None]),
                    "template_id": rng.choice([None, 1, 2, 2**63 + i % 3, i % 11]),
                    "lsh_0": rng.choice([None, 7, 2**64 - 1 - i % 4]),
                }
            )
    events = pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "payment_fingerprint": pl.String,
            "org_id": pl.String,
            "ip24": pl.String,
            "user_agent": pl.String,
            "email_domain": pl.String,
            "template_id": pl.UInt64,
            "lsh_0": pl.UInt64,
        },
    )
    con = duckdb.connect()
    con.register("events_in", events.to_arrow())
    # the accounts numbered as prepare_events numbers them, each event with its number
    con.execute(f"CREATE TEMP TABLE account_numbers AS {account_numbers_query('events_in')}")
    con.execute(
        "CREATE VIEW events AS SELECT e.*, n.account_no FROM events_in e "
        "JOIN account_numbers n USING (account_id)"
    )
    accounts = ["zz-no-traffic", *sorted(set(events["account_id"]))[::-1]]  # any order
    numbered = link_key_ids(con)
    assert numbered.rows.dtypes == [pl.Int32, pl.Int32, pl.Int32]
    by_ids = link_accounts(accounts, numbered, LinkConfig(min_group=10))
    by_strings = link_accounts(accounts, con.sql(keys_query()).pl(), LinkConfig(min_group=10))
    assert len(set(by_ids.component.tolist())) < len(accounts) - 10  # clusters were found
    assert np.array_equal(by_ids.component, by_strings.component)
    assert by_ids.kinds == by_strings.kinds
    assert by_ids.graph is not None and by_strings.graph is not None
    assert np.array_equal(by_ids.graph.codes, by_strings.graph.codes)
    assert np.array_equal(by_ids.graph.kinds, by_strings.graph.kinds)
