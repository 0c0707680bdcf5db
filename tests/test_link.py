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
    rows = [(f"h{i}", "payment_fingerprint", "pf") for i in range(300)]
    links = link_accounts(accounts, keys(rows))
    assert len({links.component[i] for i in range(300)}) == 1
    assert not same(links, "h0", "x")
    assert not same(links, "x", "y")
    assert max(len(m) for m in links.members().values()) == 300
    assert links.kinds[int(links.component[0])]["payment_fingerprint"] >= 299


def test_cards_of_one_cluster_join_through_shared_infrastructure() -> None:
    # three cards, 15 accounts each; the cluster rotates one proxy pool and one UA
    accounts = [f"h{i}" for i in range(45)]
    rows = [(f"h{i}", "payment_fingerprint", f"pf{i % 3}") for i in range(45)]
    rows += [(f"h{i}", "ip_prefix", f"203.0.{i % 5}") for i in range(45)]
    rows += [(f"h{i}", "template", f"t{i % 2}") for i in range(45)]
    rows += [(f"h{i}", "user_agent", "harvester/0.1") for i in range(45)]
    links = link_accounts(accounts, keys(rows))
    assert len(set(links.component.tolist())) == 1


def test_one_chance_pair_does_not_merge_two_clusters() -> None:
    accounts = [f"a{i}" for i in range(40)] + [f"b{i}" for i in range(40)]
    rows = [(f"a{i}", "payment_fingerprint", "pa") for i in range(40)]
    rows += [(f"b{i}", "payment_fingerprint", "pb") for i in range(40)]
    # a0 and b0 happen to share a proxy /24 and a popular prompt: 1 - 0.7 * 0.6 >= 0.4
    rows += [("a0", "ip_prefix", "198.51.100"), ("b0", "ip_prefix", "198.51.100")]
    rows += [("a0", "template", "t"), ("b0", "template", "t")]
    rows += [("a0", "user_agent", "ua"), ("b0", "user_agent", "ua")]
    links = link_accounts(accounts, keys(rows))
    assert not same(links, "a1", "b1")
    assert same(links, "a0", "a1") and same(links, "b0", "b1")


def test_a_loosely_attached_account_stays_alone() -> None:
    accounts = [f"h{i}" for i in range(30)] + ["busy"]
    rows = [(f"h{i}", "payment_fingerprint", "pf") for i in range(30)]
    rows += [(a, "ip_prefix", "198.51.100") for a in ("h0", "busy")]
    rows += [(a, "template", "t") for a in ("h0", "busy")]
    rows += [(a, "user_agent", "ua") for a in ("h0", "busy")]
    links = link_accounts(accounts, keys(rows))
    assert not same(links, "busy", "h0")


def test_one_weak_key_is_not_enough_but_two_are() -> None:
    rows = [
        ("a", "ip_prefix", "198.51.100"),
        ("b", "ip_prefix", "198.51.100"),
        ("c", "ip_prefix", "192.0.2"),
        ("d", "ip_prefix", "192.0.2"),
        ("c", "template", "t9"),
        ("d", "template", "t9"),
        ("c", "user_agent", "ua"),
        ("d", "user_agent", "ua"),
    ]
    links = link_accounts(["a", "b", "c", "d"], keys(rows), LinkConfig(min_attachment=0.5))
    assert not same(links, "a", "b")  # 0.3 < 0.6
    assert same(links, "c", "d")  # 1 - 0.7 * 0.6 * 0.8 = 0.66 >= 0.6


def test_template_and_sketch_are_one_fact() -> None:
    rows = [(a, k, "v") for a in ("c", "d") for k in ("template", "sketch", "ip_prefix")]
    links = link_accounts(["c", "d"], keys(rows), LinkConfig(min_attachment=0.5))
    assert not same(links, "c", "d")  # max(0.4, 0.3) with 0.3: 0.58 < 0.6


def test_several_shared_templates_weigh_more_but_never_link_alone() -> None:
    """Three of one author's wrappers plus one client reach the threshold; one wrapper plus
    the client does not, and any number of wrappers without a client, network or mail
    domain does not either (content alone never links)."""
    rows = [(a, "template", f"t{i}") for a in ("a", "b", "c", "d") for i in range(3)]
    rows += [(a, "user_agent", "tool/1.2") for a in ("a", "b")]
    rows += [("e", "template", "t0"), ("f", "template", "t0")]
    rows += [(a, "user_agent", "tool/9.9") for a in ("e", "f")]
    links = link_accounts(list("abcdef"), keys(rows), LinkConfig(min_attachment=0.5))
    assert same(links, "a", "b")  # 1 - 0.5 * 0.8 = 0.6
    assert not same(links, "c", "d")  # three templates alone: 0.5
    assert not same(links, "e", "f")  # one template and a client: 0.52
    fewer = LinkConfig(min_attachment=0.5, several={})
    assert not same(link_accounts(list("abcdef"), keys(rows), fewer), "a", "b")


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
