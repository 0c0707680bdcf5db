"""A campaign's link graph for the console: read from the scan, laid out once, drawn as SVG.

``link_graph.jsonl`` (scan output v1, ``docs/scan-output.md``) lists the pairs linking joined
between a campaign's accounts with their kinds and confidence. :func:`read_link_graphs` checks
every line (a file from another build or a hand edit names its line when broken; a scan from
before the file existed has no graph and still imports); :func:`layout` places the accounts
once, at import (igraph's Fruchterman-Reingold, seeded, so a page shows the same picture every
time and costs no layout work); :func:`view` turns the stored layout into what the template
draws. The page is server-rendered SVG -- a ``<title>`` per edge and account works without
script, and a table lists the same links for screen readers -- and ``static/graph.js`` adds
zoom, pan, a filter by link kind and hover details. Account ids and kinds come from traffic
and from a file: Jinja escapes them, and kinds must look like identifiers (they become CSS
classes and a space-separated ``data-`` list).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import igraph as ig
from markupsafe import Markup

from distillwatch.report.scandir import INT, STRING, Field, ScanFileError, iter_jsonl

LINK_GRAPH_FILE = "link_graph.jsonl"
#: A scan lists at most 300 links per campaign; a file with many more is not one to draw.
MAX_EDGES = 2000
#: Accounts drawn per campaign: those on a listed link, then unlinked members up to this.
MAX_NODES = 400
WIDTH, HEIGHT, MARGIN = 960, 540, 24
#: Accounts are labelled with their id (cut to 18 characters) when no more are drawn; the
#: layout then keeps room for the labels on the right.
LABELLED, LABEL_ROOM = 25, 120
#: Graphs of up to this many accounts are drawn in a box this high instead of ``HEIGHT``.
SMALL, SMALL_HEIGHT = 12, 300
#: Link kinds with their own colour (``static/console.css``); others are drawn as ``k-other``.
KNOWN_KINDS = (
    "organisation",
    "payment_fingerprint",
    "template_set",
    "template",
    "ip_prefix",
    "sketch",
    "email_domain",
    "user_agent",
    "newcomer_agent",
)
_KIND = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_FIELDS = {
    "campaign_id": STRING,
    "edges": Field("a list", lambda v: isinstance(v, list)),
    "dropped": INT,
}


def _edge_problem(e: Any, members: set[str]) -> str | None:
    """Why one listed edge cannot be drawn, or None."""
    if not isinstance(e, dict):
        return "is not an object"
    a, b, kinds, conf = e.get("a"), e.get("b"), e.get("kinds"), e.get("confidence")
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return "needs two different account ids 'a' and 'b'"
    for account in (a, b):
        if account not in members:
            return f"names account {account!r:.80}, which is not in the campaign"
    if not isinstance(kinds, list) or not kinds:
        return "needs a non-empty list 'kinds'"
    for k in kinds:
        if not isinstance(k, str) or not _KIND.fullmatch(k):
            return f"has kind {k!r:.60}; kinds are 1-40 letters, digits, '_', '.' or '-'"
    if isinstance(conf, bool) or not isinstance(conf, int | float) or not 0.0 <= conf <= 1.0:
        return f"needs a 'confidence' in 0..1, got {conf!r:.40}"
    return None


def read_link_graphs(
    scan_dir: Path, members: dict[str, list[str]]
) -> dict[str, tuple[list[dict[str, Any]], int]]:
    """Per campaign id, its listed edges and ``dropped``; ``{}`` when the scan has no file.

    ``members``: campaign id -> its accounts (from ``campaigns.jsonl``). Raises
    :class:`ScanFileError` naming the line of the first edge that does not fit.
    """
    path = scan_dir / LINK_GRAPH_FILE
    if not path.exists():
        return {}
    out: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for number, obj in iter_jsonl(path, _FIELDS):
        cid, edges = obj["campaign_id"], obj["edges"]
        if cid not in members:
            raise ScanFileError(path, number, f"campaign {cid!r:.80} is not in campaigns.jsonl")
        if cid in out:
            raise ScanFileError(path, number, f"a second line for campaign {cid!r}")
        if len(edges) > MAX_EDGES:
            raise ScanFileError(
                path, number, f"{len(edges)} edges; the console draws at most {MAX_EDGES}"
            )
        accounts = set(members[cid])
        for i, e in enumerate(edges):
            problem = _edge_problem(e, accounts)
            if problem is not None:
                raise ScanFileError(path, number, f"edge {i} of campaign {cid} {problem}")
        out[cid] = (
            [
                {"a": e["a"], "b": e["b"], "kinds": list(e["kinds"]), "confidence": e["confidence"]}
                for e in edges
            ],
            obj["dropped"],
        )
    return out


def layout(members: list[str], edges: list[dict[str, Any]], dropped: int) -> dict[str, Any]:
    """What the store keeps for one campaign: accounts with positions in a ``WIDTH`` x
    ``HEIGHT`` box, edges as node indices, and the counts the caption needs."""
    linked = list(dict.fromkeys(a for e in edges for a in (e["a"], e["b"])))
    seen = set(linked)
    loose = [a for a in members if a not in seen][: max(MAX_NODES - len(linked), 0)]
    names = linked + loose
    at = {a: i for i, a in enumerate(names)}
    pairs = [(at[e["a"]], at[e["b"]]) for e in edges]
    g = ig.Graph(n=len(names), edges=pairs)
    previous = random.getstate()
    random.seed(0)  # igraph draws from Python's ``random``: the same scan, the same picture
    try:
        coords = (
            g.layout_fruchterman_reingold(
                weights=[float(e["confidence"]) for e in edges] or None,
                niter=500,
                grid="grid" if len(names) > 150 else "nogrid",
            ).coords
            if names
            else []
        )
    finally:
        random.setstate(previous)
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]

    room = LABEL_ROOM if len(names) <= LABELLED else 0

    def scale(v: float, lo: float, hi: float, size: float) -> float:
        return (
            round(MARGIN + (v - lo) / (hi - lo) * (size - 2 * MARGIN), 1) if hi > lo else size / 2
        )

    return {
        "nodes": [
            [a, scale(x, min(xs), max(xs), WIDTH - room), scale(y, min(ys), max(ys), HEIGHT)]
            for a, x, y in zip(names, xs, ys, strict=True)
        ],
        "edges": [
            [i, j, e["kinds"], e["confidence"]] for (i, j), e in zip(pairs, edges, strict=True)
        ],
        "dropped": dropped,
        "not_drawn": len(members) - len(names),
    }


@dataclass(frozen=True)
class Node:
    account_id: str
    x: float
    y: float
    degree: int
    label: str | None
    href: str
    title: str
    #: the numeric attributes of its circle and label, formatted here as numbers (``:.1f``
    #: refuses anything else), so the template need not escape them one by one
    circle: Markup
    at: Markup


@dataclass(frozen=True)
class Edge:
    """One line of the drawing (joined text made here: Jinja's ``join`` is slow per call)."""

    a: int
    b: int
    x1: float
    y1: float
    x2: float
    y2: float
    kinds: list[str]
    confidence: float
    css: str
    width: float
    info: str
    a_id: str
    b_id: str
    kind_list: str  # space-separated, for the filter
    kind_text: str  # comma-separated, for people
    line: Markup  # its numeric attributes, as :class:`Node`'s


@dataclass(frozen=True)
class Legend:
    kind: str
    css: str
    count: int


@dataclass(frozen=True)
class GraphView:
    nodes: list[Node]
    edges: list[Edge]
    legend: list[Legend]
    width: int
    height: int
    dropped: int
    not_drawn: int
    radius: float


def kind_css(kind: str) -> str:
    return f"k-{kind}" if kind in KNOWN_KINDS else "k-other"


def view(stored: dict[str, Any] | None) -> GraphView | None:
    """The template's view of a stored layout (None: the scan had no link graph)."""
    if not stored:
        return None
    names = [n[0] for n in stored["nodes"]]
    degree = Counter(i for e in stored["edges"] for i in e[:2])
    labelled = len(names) <= LABELLED
    radius = 6.0 if len(stored["nodes"]) <= 60 else 4.0
    # a few accounts get a flatter box than hundreds (the page would be mostly empty)
    height = SMALL_HEIGHT if len(stored["nodes"]) <= SMALL else HEIGHT
    squeeze = (height - 2 * MARGIN) / (HEIGHT - 2 * MARGIN)
    nodes = []
    for i, (a, x, y0) in enumerate(stored["nodes"]):
        n, y = degree[i], MARGIN + (y0 - MARGIN) * squeeze
        nodes.append(
            Node(
                a, x, y, n, (a if len(a) <= 18 else a[:17] + "…") if labelled else None,
                "/accounts/" + quote(a, safe=""),
                f"{a}: {n} listed link{'' if n == 1 else 's'}",
                Markup(f'cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}"'),
                Markup(f'x="{x + radius + 2:.1f}" y="{y + 4:.1f}"'),
            )
        )  # fmt: skip
    edges = []
    for i, j, kinds, conf in stored["edges"]:
        a, b = nodes[i], nodes[j]
        text = ", ".join(kinds)
        info = f"{a.account_id} — {b.account_id}: {text} · confidence {conf:.2f}"
        width = round(1.0 + 3.0 * max(conf - 0.5, 0.0) / 0.5, 1)
        css = kind_css(kinds[0])
        edges.append(
            Edge(
                i, j, a.x, a.y, b.x, b.y, kinds, conf, css, width, info,
                a.account_id, b.account_id, " ".join(kinds), text,
                Markup(
                    f'x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" '
                    f'stroke-width="{width:.1f}" data-a="{i:d}" data-b="{j:d}"'
                ),
            )
        )  # fmt: skip
    counts = Counter(k for e in edges for k in e.kinds)
    legend = [Legend(k, kind_css(k), n) for k, n in sorted(counts.items(), key=_kind_order)]
    return GraphView(
        nodes,
        edges,
        legend,
        WIDTH,
        height,
        stored["dropped"],
        stored["not_drawn"],
        radius,
    )


def _kind_order(item: tuple[str, int]) -> tuple[int, str]:
    kind = item[0]
    return (KNOWN_KINDS.index(kind) if kind in KNOWN_KINDS else len(KNOWN_KINDS), kind)
