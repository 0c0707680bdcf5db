"""Linking accounts into campaigns on constructed clusters."""

import polars as pl

from distillwatch.detect.link import LinkConfig, link_accounts


def keys(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    schema = {"account_id": pl.String, "kind": pl.String, "value": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def same(links, a: str, b: str) -> bool:
    comp = dict(zip(links.accounts, links.component.tolist(), strict=True))
    return comp[a] == comp[b]


def test_shared_payment_fingerprint_alone_links() -> None:
    accounts = [f"h{i}" for i in range(300)] + ["x", "y"]
    rows = [(f"h{i}", "payment_fingerprint", f"pf{i % 3}") for i in range(300)]
    # the three fingerprint groups are joined by one template + prefix each
    rows += [(f"h{i}", "template", "t1") for i in (0, 1, 2)]
    rows += [(f"h{i}", "ip_prefix", "203.0.113") for i in (0, 1, 2)]
    links = link_accounts(accounts, keys(rows))
    assert len({links.component[i] for i in range(300)}) == 1
    assert not same(links, "h0", "x")
    assert not same(links, "x", "y")
    members = links.members()
    assert max(len(m) for m in members.values()) == 300
    comp = links.component[0]
    assert links.kinds[int(comp)]["payment_fingerprint"] == 297


def test_one_weak_key_is_not_enough_but_two_are() -> None:
    rows = [
        ("a", "ip_prefix", "198.51.100"),
        ("b", "ip_prefix", "198.51.100"),
        ("c", "ip_prefix", "192.0.2"),
        ("d", "ip_prefix", "192.0.2"),
        ("c", "template", "t9"),
        ("d", "template", "t9"),
    ]
    links = link_accounts(["a", "b", "c", "d"], keys(rows))
    assert not same(links, "a", "b")  # 0.35 < 0.7
    assert same(links, "c", "d")  # 1 - 0.65 * 0.6 = 0.61 >= 0.6


def test_common_weak_value_is_ignored() -> None:
    accounts = [f"u{i}" for i in range(50)]
    rows = [(a, "user_agent", "openai-python/1.0") for a in accounts]
    rows += [(a, "template", "generic") for a in accounts]
    links = link_accounts(accounts, keys(rows), LinkConfig(max_group=10))
    assert len(set(links.component.tolist())) == 50


def test_organisation_joins_its_keys() -> None:
    rows = [("k1", "organisation", "org-1"), ("k2", "organisation", "org-1")]
    links = link_accounts(["k1", "k2", "k3"], keys(rows))
    assert same(links, "k1", "k2")
    assert not same(links, "k1", "k3")


def test_no_accounts() -> None:
    links = link_accounts([], keys([]))
    assert links.members() == {}
