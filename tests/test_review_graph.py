"""The campaign page's link graph: read from link_graph.jsonl with every line checked, laid
out at import, drawn as escaped SVG with a table of the same links; old scans still import."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from distillwatch.review.graph import MAX_EDGES, MAX_NODES, layout, view
from distillwatch.review.importer import import_scan
from distillwatch.review.store import ConsoleError
from review_kit import CAMPAIGN, HOSTILE, build_scan, logged_in, make_store
from scan_fixtures import account, campaign, link_graph, write_scan

URL = f"/campaigns/1/{CAMPAIGN}"


def _svg(page: str) -> str:
    found = re.search(r'<svg class="linkgraph".*?</svg>', page, re.S)
    assert found, "no link graph on the page"
    return found.group(0)


def test_the_campaign_page_draws_the_members_and_their_links(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    import_scan(store, build_scan(tmp_path / "scan"), "t")
    client, _ = logged_in(store, tmp_path)
    page = client.get(URL).text
    svg = _svg(page)
    nodes = re.findall(r'<a href="/accounts/([^"]+)" data-node', svg)
    assert sorted(nodes) == [f"acct_h{i}" for i in range(4)]
    lines = re.findall(r'<line class="e (k-[a-z_]+)"[^>]*data-kinds="([^"]*)"', svg)
    assert len(lines) == 4
    assert ("k-payment_fingerprint", "payment_fingerprint template ip_prefix") in lines
    assert ("k-template", "template ip_prefix user_agent") in lines  # coloured by the first
    assert "confidence 0.96" in svg and "<title>" in svg
    assert "2 more joined pairs not listed by the scan" in page
    table = re.search(r'<table class="links">.*?</table>', page, re.S)
    assert table and table.group(0).count("<tr>") == 5  # header + one row per link
    assert "<td>acct_h0</td><td>acct_h3</td><td>template, ip_prefix, user_agent</td>" in page
    legend = re.findall(r'<input type="checkbox" checked value="([a-z_]+)" hidden>', page)
    assert legend == ["payment_fingerprint", "template", "ip_prefix", "user_agent"]
    script = client.get("/static/graph.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    store.close()


def test_a_scan_without_link_graph_imports_and_says_so(tmp_path: Path) -> None:
    out = build_scan(tmp_path / "scan")
    (out / "link_graph.jsonl").unlink()
    store = make_store(tmp_path)
    import_scan(store, out, "t")
    client, _ = logged_in(store, tmp_path)
    page = client.get(URL).text
    assert 'class="linkgraph"' not in page
    assert "no link graph in this scan" in page
    assert "payment_fingerprint" in page  # the kind counts are still shown
    store.close()


def test_account_ids_in_the_graph_are_text(tmp_path: Path) -> None:
    evil = f"acct_{HOSTILE}"
    members = [account(evil, 0.9, True, CAMPAIGN), account("acct_ok", 0.9, True, CAMPAIGN)]
    graph = link_graph(CAMPAIGN, [(evil, "acct_ok", ("payment_fingerprint",), 0.9)])
    out = write_scan(tmp_path / "scan", members, [campaign(CAMPAIGN, members)], link_graphs=[graph])
    store = make_store(tmp_path)
    import_scan(store, out, "t")
    client, _ = logged_in(store, tmp_path)
    page = client.get(URL).text
    assert HOSTILE not in page
    svg = _svg(page)
    assert "acct_&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in svg
    assert "/accounts/acct_%3Cscript%3Ealert%28%22owned%22%29%3C%2Fscript%3E" in svg
    store.close()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ({"campaign_id": "C-ffffffff", "edges": [], "dropped": 0}, "not in campaigns.jsonl"),
        ({"campaign_id": CAMPAIGN, "edges": [], "dropped": -1}, "field 'dropped'"),
        ({"campaign_id": CAMPAIGN, "edges": "x", "dropped": 0}, "field 'edges' must be a list"),
        (
            link_graph(CAMPAIGN, [("acct_h0", "acct_b1", ("template",), 0.7)]),
            "names account 'acct_b1', which is not in the campaign",
        ),
        (
            link_graph(CAMPAIGN, [("acct_h0", "acct_h1", ('x" onmouseover="y',), 0.7)]),
            "kinds are 1-40 letters",
        ),
        (link_graph(CAMPAIGN, [("acct_h0", "acct_h1", (), 0.7)]), "non-empty list 'kinds'"),
        (link_graph(CAMPAIGN, [("acct_h0", "acct_h0", ("t",), 0.7)]), "two different"),
        (link_graph(CAMPAIGN, [("acct_h0", "acct_h1", ("t",), 1.5)]), "'confidence' in 0..1"),
        (
            link_graph(CAMPAIGN, [("acct_h0", "acct_h1", ("t",), 0.7)] * (MAX_EDGES + 1)),
            f"at most {MAX_EDGES}",
        ),
    ],
)
def test_a_broken_link_graph_line_is_named_and_nothing_is_imported(
    tmp_path: Path, line: dict, says: str
) -> None:
    out = build_scan(tmp_path / "scan")
    (out / "link_graph.jsonl").write_bytes(b"\n" + orjson.dumps(line) + b"\n")
    store = make_store(tmp_path)
    with pytest.raises(ConsoleError) as err:
        import_scan(store, out, "t")
    assert "link_graph.jsonl:2: " in str(err.value) and says in str(err.value)
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.t.scans)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(store.t.graphs)).scalar() == 0
    store.close()


def test_a_second_line_for_one_campaign_is_refused(tmp_path: Path) -> None:
    out = build_scan(tmp_path / "scan")
    path = out / "link_graph.jsonl"
    path.write_bytes(path.read_bytes() * 2)
    with pytest.raises(ConsoleError, match="a second line for campaign"):
        import_scan(make_store(tmp_path), out, "t")


def test_layout_is_the_same_each_time_inside_the_box_and_bounded() -> None:
    members = [f"m{i}" for i in range(MAX_NODES + 50)]
    edges = [
        {"a": f"m{i}", "b": f"m{i + 1}", "kinds": ["custom_kind"], "confidence": 0.7}
        for i in range(20)
    ]
    first, second = layout(members, edges, 5), layout(members, edges, 5)
    assert first == second
    assert len(first["nodes"]) == MAX_NODES and first["not_drawn"] == 50
    assert all(0 <= x <= 960 and 0 <= y <= 540 for _, x, y in first["nodes"])
    drawn = view(first)
    assert drawn is not None and drawn.edges[0].css == "k-other"  # an unknown kind: grey
    assert drawn.nodes[0].label is None  # too many to label
    assert view(None) is None
    solo = view(layout(["solo"], [], 0))
    assert solo is not None and solo.nodes[0].label == "solo" and 0 < solo.nodes[0].x < 960
