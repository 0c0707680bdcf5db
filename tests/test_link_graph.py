"""The link graph a scan records per campaign: which pairs joined, on which kinds, how surely;
bounded per campaign, connected where it can be, and written to ``link_graph.jsonl``."""

from __future__ import annotations

import re
from pathlib import Path

import igraph as ig
import orjson
import polars as pl

from builders import casual_user, hydra, write_log
from distillwatch.detect.link import LinkConfig, link_accounts
from distillwatch.review.importer import import_scan
from distillwatch.scan import run_scan
from review_kit import logged_in, make_store


def keys(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    schema = {"account_id": pl.String, "kind": pl.String, "value": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def connected(edges: list, nodes: set[str]) -> bool:
    names = sorted(nodes)
    at = {a: i for i, a in enumerate(names)}
    g = ig.Graph(n=len(names), edges=[(at[e.a], at[e.b]) for e in edges])
    return g.is_connected()


def test_edges_carry_every_shared_kind_and_the_noisy_or_of_their_families() -> None:
    # two cards; every pair of a card shares it, some also a /24, a template and a sketch
    accounts = [f"h{i}" for i in range(12)]
    rows = [(f"h{i}", "payment_fingerprint", f"pf{i % 2}") for i in range(12)]
    rows += [(f"h{i}", "ip_prefix", "203.0.113") for i in range(6)]
    rows += [(f"h{i}", kind, "t") for i in range(4) for kind in ("template", "sketch")]
    rows += [(f"h{i}", "user_agent", "ua") for i in (0, 1, 2, 3, 4, 6, 8)]
    links = link_accounts(accounts, keys(rows))
    shown = links.graph.among({"c": accounts})["c"]
    assert shown.dropped == 0 and shown.edges
    by_pair = {(e.a, e.b): e for e in shown.edges}
    for e in shown.edges:
        assert e.kinds[0] == "payment_fingerprint"  # strongest first
        i, j = int(e.a[1:]), int(e.b[1:])
        assert i % 2 == j % 2  # a mesh edge of one card
        expect = {"payment_fingerprint"}
        expect |= {"ip_prefix"} if i < 6 and j < 6 else set()
        expect |= {"template", "sketch"} if i < 4 and j < 4 else set()
        expect |= {"user_agent"} if {i, j} <= {0, 1, 2, 3, 4, 6, 8} else set()
        assert set(e.kinds) == expect, e
    pair = next((p for p in by_pair if {p[0], p[1]} <= {"h0", "h2"}), None)
    if pair is not None:  # card 0.9, /24 0.3, template 0.4 (the sketch is that fact again), UA 0.2
        assert by_pair[pair].confidence == round(1 - 0.1 * 0.7 * 0.6 * 0.8, 3)


def test_a_weak_join_names_a_card_the_pair_also_shares() -> None:
    # c and d are joined on weak keys; both also use card pf, which a mesh may not pair them on
    others = [f"x{i}" for i in range(20)]
    rows = [(a, "payment_fingerprint", "pf") for a in ["c", "d", *others]]
    rows += [(a, k, "v") for a in ("c", "d") for k in ("ip_prefix", "template", "user_agent")]
    links = link_accounts(["c", "d", *others], keys(rows))
    shown = links.graph.among({"pair": ["c", "d"]})["pair"]
    assert [(e.a, e.b) for e in shown.edges] == [("c", "d")]
    assert set(shown.edges[0].kinds) == {
        "payment_fingerprint",
        "ip_prefix",
        "template",
        "user_agent",
    }


def test_a_huge_cluster_shows_a_connected_bounded_part_and_counts_the_rest() -> None:
    accounts = [f"a{i:05d}" for i in range(20_000)]
    links = link_accounts(accounts, keys([(a, "payment_fingerprint", "pf") for a in accounts]))
    assert len(links.graph) < 5 * len(accounts)  # the mesh, never all pairs
    shown = links.graph.among({"c": accounts}, limit=300)["c"]
    nodes = {e.a for e in shown.edges} | {e.b for e in shown.edges}
    assert len(shown.edges) == 300 and len(nodes) == 301
    assert connected(list(shown.edges), nodes)
    assert shown.dropped == len(links.graph) - 300


def test_a_forest_too_large_fills_the_limit_tree_by_tree() -> None:
    # two cards of 200 accounts: two trees of 199 links, 300 to show
    accounts = [f"a{i:03d}" for i in range(400)]
    rows = [(a, "payment_fingerprint", f"pf{i // 200}") for i, a in enumerate(accounts)]
    links = link_accounts(accounts, keys(rows))
    shown = links.graph.among({"c": accounts}, limit=300)["c"]
    assert len(shown.edges) == 300
    first = [e for e in shown.edges if int(e.a[1:]) < 200]
    assert len(first) in (199, 101)  # one whole tree, then part of the other
    for part in (first, [e for e in shown.edges if int(e.a[1:]) >= 200]):
        nodes = {e.a for e in part} | {e.b for e in part}
        assert connected(part, nodes) and len(nodes) == len(part) + 1


def test_spanning_forest_first_then_strongest_and_only_pairs_within_the_group() -> None:
    accounts = [f"h{i}" for i in range(30)] + ["outsider"]
    rows = [(f"h{i}", "payment_fingerprint", "pf") for i in range(30)]
    rows += [("outsider", "payment_fingerprint", "pf")]
    rows += [(f"h{i}", k, "v") for i in range(4) for k in ("ip_prefix", "template")]
    links = link_accounts(accounts, keys(rows))
    members = [f"h{i}" for i in range(30)]
    full = links.graph.among({"c": members}, limit=10_000)["c"]
    assert full.dropped == 0
    assert all("outsider" not in (e.a, e.b) for e in full.edges)
    nodes = {e.a for e in full.edges} | {e.b for e in full.edges}
    tree_size = len(nodes) - 1
    part = links.graph.among({"c": members}, limit=tree_size + 3)["c"]
    assert len(part.edges) == tree_size + 3 and part.dropped == len(full.edges) - tree_size - 3
    assert connected(list(part.edges), nodes)  # the forest came first
    rest = sorted((e.confidence for e in full.edges), reverse=True)
    assert max(e.confidence for e in part.edges) == rest[0]


def test_no_links_and_no_accounts() -> None:
    links = link_accounts(["a", "b"], keys([]))
    assert links.graph.among({"c": ["a", "b"], "d": []}) == {
        "c": links.graph.among({"c": ["a"]})["c"],
        "d": links.graph.among({"d": []})["d"],
    }
    assert links.graph.among({"c": ["a", "b"]})["c"].edges == ()
    assert len(link_accounts([], keys([])).graph) == 0
    sparse = link_accounts(["a", "b"], keys([]), LinkConfig(threshold=0.1))
    assert sparse.graph.among({"c": ["a", "b", "unknown"]})["c"].dropped == 0


def test_scan_writes_each_campaigns_link_graph(tmp_path: Path) -> None:
    records = [r for a in range(4) for r in casual_user(f"casual{a}", 20, start=a * 100.0)]
    records += hydra("hy", 30, 8)
    run_scan([write_log(tmp_path / "log.jsonl", records)], tmp_path / "out")
    out = tmp_path / "out"
    campaigns = [orjson.loads(x) for x in (out / "campaigns.jsonl").read_bytes().splitlines()]
    graphs = [orjson.loads(x) for x in (out / "link_graph.jsonl").read_bytes().splitlines()]
    assert [g["campaign_id"] for g in graphs] == [c["campaign_id"] for c in campaigns]
    hydra_graph = next(g for g, c in zip(graphs, campaigns, strict=True) if "hy0" in c["accounts"])
    members = set(next(c["accounts"] for c in campaigns if "hy0" in c["accounts"]))
    edges = hydra_graph["edges"]
    assert edges and hydra_graph["dropped"] >= 0
    for e in edges:
        assert {e["a"], e["b"]} <= members and e["a"] != e["b"]
        assert e["kinds"] and 0.6 <= e["confidence"] <= 1.0
    assert any("payment_fingerprint" in e["kinds"] for e in edges)
    touched = {e["a"] for e in edges} | {e["b"] for e in edges}
    assert touched == members  # each card's mesh reaches every account

    # and the console draws it: every member a node, every listed link a line
    store = make_store(tmp_path)
    import_scan(store, out, "t")
    client, _ = logged_in(store, tmp_path)
    page = client.get(f"/campaigns/1/{hydra_graph['campaign_id']}").text
    svg = re.search(r'<svg class="linkgraph".*?</svg>', page, re.S)
    assert svg is not None
    nodes = re.findall(r'<a href="/accounts/([^"]+)" data-node', svg.group(0))
    assert sorted(nodes) == sorted(members)
    assert svg.group(0).count("<line ") == len(edges)
    store.close()
