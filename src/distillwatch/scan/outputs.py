"""Write the scan output v1 files described in ``docs/scan-output.md``."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl

from distillwatch.detect.link import Links
from distillwatch.detect.link_graph import MAX_EDGES
from distillwatch.detect.score import Campaign, Verdict
from distillwatch.features import capability_shares
from distillwatch.ingest import IngestSummary

SCAN_VERSION = "1"
#: Indicator lists are capped: enough to block on, small enough to read.
MAX_INDICATORS = 50
SAMPLES_PER_CAMPAIGN = 8
#: What :func:`campaign_rows` reads of a campaign's events (volume, capabilities, indicators).
CAMPAIGN_EVENT_COLUMNS = (
    "ts",
    "capability",
    "ip24",
    "asn",
    "user_agent",
    "payment_fingerprint",
    "email_domain",
    "template_id",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps(row) + b"\n")


def _top(con: duckdb.DuckDBPyConnection, expr: str) -> dict[str, list[Any]]:
    """Most frequent values of ``expr`` per campaign, capped at :data:`MAX_INDICATORS`."""
    rows = con.execute(
        f"SELECT campaign_id, list(v ORDER BY n DESC, v)[1:{MAX_INDICATORS}] FROM ("
        f"SELECT campaign_id, {expr} AS v, count(*) AS n FROM campaign_events "
        f"WHERE {expr} IS NOT NULL GROUP BY ALL) GROUP BY campaign_id"
    ).fetchall()
    return {cid: values for cid, values in rows}


def _prefixes(prefixes: list[str]) -> list[str]:
    """The /24 prefixes (IPv6: /48) a campaign used, collapsed to the fewest CIDRs."""
    nets = []
    for p in prefixes:
        try:
            if ":" in p:
                nets.append(ipaddress.ip_network(f"{p}::/48", strict=False))
            else:
                nets.append(ipaddress.ip_network(f"{p}.0/24"))
        except ValueError:
            continue
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    collapsed = [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
    return [str(n) for n in collapsed][:MAX_INDICATORS]


def campaign_rows(
    con: duckdb.DuckDBPyConnection, campaigns: list[Campaign]
) -> list[dict[str, Any]]:
    """Campaign records with their indicators, volume and capability coverage."""
    members = pl.DataFrame(
        {
            "account_id": [a for c in campaigns for a in c.accounts],
            "campaign_id": [c.campaign_id for c in campaigns for _ in c.accounts],
        },
        schema={"account_id": pl.String, "campaign_id": pl.String},
    )
    con.register("campaign_members", members.to_arrow())
    # one join for the eight queries below (each joined all events again as a view): only
    # the columns they read, only the campaigns' events
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE campaign_events AS SELECT m.campaign_id, "
        f"{', '.join(f'e.{c}' for c in CAMPAIGN_EVENT_COLUMNS)} "
        "FROM events e JOIN campaign_members m USING (account_id)"
    )
    volume = {
        cid: (n, first, last)
        for cid, n, first, last in con.sql(
            "SELECT campaign_id, count(*), min(ts), max(ts) FROM campaign_events GROUP BY 1"
        )
        .pl()
        .iter_rows()
    }
    shares = capability_shares(con, "campaign_id", "campaign_events")
    top = {
        "ip_prefixes": _top(con, "ip24"),
        "asns": _top(con, "asn"),
        "user_agents": _top(con, "user_agent"),
        "payment_fingerprints": _top(con, "payment_fingerprint"),
        "email_domains": _top(con, "email_domain"),
        "template_ids": _top(con, "printf('%016x', template_id)"),
    }
    rows = []
    for c in campaigns:
        n, first, last = volume.get(c.campaign_id, (0, None, None))
        indicators = {kind: values.get(c.campaign_id, []) for kind, values in top.items()}
        indicators["ip_prefixes"] = _prefixes(indicators["ip_prefixes"])
        rows.append(
            {
                "campaign_id": c.campaign_id,
                "accounts": list(c.accounts),
                "score": c.score,
                "first_seen": _iso(first),
                "last_seen": _iso(last),
                "requests": n,
                "tactics": c.tactics,
                "capabilities": dict(
                    sorted(shares.get(c.campaign_id, {}).items(), key=lambda kv: -kv[1])
                ),
                "indicators": indicators,
                "links": c.links,
                "reasons": [str(f) for f in c.findings],
            }
        )
    return rows


def account_rows(
    accounts: pl.DataFrame, verdicts: list[Verdict], campaigns: list[Campaign]
) -> Iterator[dict[str, Any]]:
    """One record per account, made as it is written: a list of them all would hold every
    account's findings twice over at 100k accounts."""
    campaign_of = {a: c.campaign_id for c in campaigns for a in c.accounts}
    facts = {
        account: (requests, first, last)
        for account, requests, first, last in accounts.select(
            "account_id", "requests", "first_ts", "last_ts"
        ).iter_rows()
    }
    for v in verdicts:
        requests, first, last = facts[v.account_id]
        yield {
            "account_id": v.account_id,
            "score": v.score,
            "flagged": v.flagged,
            "distinctive": v.distinctive,
            "campaign_id": campaign_of.get(v.account_id),
            "reasons": v.reasons,
            "requests": requests,
            "first_seen": _iso(first),
            "last_seen": _iso(last),
            "findings": [f.to_dict() for f in v.findings],
        }


def link_graph_rows(
    links: Links, campaigns: list[Campaign], limit: int = MAX_EDGES
) -> list[dict[str, Any]]:
    """Per campaign, the links between its accounts (at most ``limit``, strongest spanning
    forest first) and how many joining pairs between them were left out."""
    if links.graph is None:
        return []
    shown = links.graph.among({c.campaign_id: c.accounts for c in campaigns}, limit)
    return [
        {
            "campaign_id": c.campaign_id,
            "edges": [e.to_dict() for e in shown[c.campaign_id].edges],
            "dropped": shown[c.campaign_id].dropped,
        }
        for c in campaigns
    ]


def write_timeline(con: duckdb.DuckDBPyConnection, verdicts: list[Verdict], path: Path) -> None:
    flagged = pl.DataFrame(
        {"account_id": [v.account_id for v in verdicts], "flagged": [v.flagged for v in verdicts]},
        schema={"account_id": pl.String, "flagged": pl.Boolean},
    )
    con.register("account_flags", flagged.to_arrow())
    con.execute(
        f"COPY (SELECT hour_bucket AS hour, m.campaign_id, f.flagged, count(*) AS requests "
        "FROM events e JOIN account_flags f USING (account_id) "
        "LEFT JOIN campaign_members m USING (account_id) GROUP BY ALL ORDER BY 1, 2) "
        f"TO '{path}' (FORMAT parquet)"
    )


def sample_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """A few prompts per campaign, one per capability first, as evidence for the analyst.

    The requests are picked from the ``events`` table and only their prompts are read from
    the enriched requests: picking them there read every prompt of every campaign account
    (0.5 CPU s on make demo's log, a quarter of it now). Requests of one account under one
    request id (a broken or hostile log) show the least of their prompts.

    The prompts are read where ``ts`` is one of the chosen requests' too: a row of another
    time could not join them, and the Parquet reader then skips the row groups whose time
    range holds none of them (request ids are random: their statistics skip nothing). Every
    prompt of the file was decompressed for 16 rows before, 0.3 CPU s on make demo's log."""
    rows = con.sql(
        "WITH chosen AS (SELECT * FROM ("
        "  SELECT r.*, m.campaign_id, row_number() OVER ("
        "    PARTITION BY m.campaign_id ORDER BY rn_cap, hash(r.request_id)) AS k FROM ("
        "      SELECT account_id, request_id, ts, capability, cot_elicit, grading_request, "
        "        language, row_number() OVER (PARTITION BY account_id, capability "
        "        ORDER BY hash(request_id)) AS rn_cap FROM events"
        "      WHERE account_id IN (SELECT account_id FROM campaign_members)) r"
        "    JOIN campaign_members m USING (account_id) WHERE rn_cap <= 2)"
        f"  WHERE k <= {SAMPLES_PER_CAMPAIGN}), "
        "prompts AS (SELECT account_id, request_id, ts, min(left(last_user, 300)) AS prompt "
        "  FROM enriched WHERE request_id IN (SELECT request_id FROM chosen) "
        "  AND ts IN (SELECT ts FROM chosen) "
        "  GROUP BY account_id, request_id, ts) "
        "SELECT c.campaign_id, c.account_id, c.ts, c.capability, c.cot_elicit, "
        "c.grading_request, c.language, p.prompt FROM chosen c LEFT JOIN prompts p "
        "ON c.account_id = p.account_id AND c.request_id = p.request_id AND c.ts = p.ts "
        "ORDER BY c.campaign_id, c.k"
    ).pl()
    keys = ("campaign_id", "account_id", "ts", "capability", "cot_elicit", "grading_request")
    out = []
    for row in rows.iter_rows():
        record = dict(zip((*keys, "language", "prompt"), row, strict=True))
        record["ts"] = _iso(record["ts"])
        out.append(record)
    return out


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    inputs: list[str | os.PathLike[str]],
    ingest: IngestSummary,
    accounts: pl.DataFrame,
    verdicts: list[Verdict],
    campaigns: list[Campaign],
    threshold: float,
    seconds: float,
    *,
    links: Links | None = None,
) -> None:
    """Every file of scan output v1 (``link_graph.jsonl`` only given the links)."""
    _write_jsonl(out_dir / "accounts.jsonl", account_rows(accounts, verdicts, campaigns))
    _write_jsonl(out_dir / "campaigns.jsonl", campaign_rows(con, campaigns))
    if links is not None:
        _write_jsonl(out_dir / "link_graph.jsonl", link_graph_rows(links, campaigns))
    write_timeline(con, verdicts, out_dir / "timeline.parquet")
    accounts.write_parquet(out_dir / "features.parquet")
    _write_jsonl(out_dir / "samples.jsonl", sample_rows(con))
    summary = {
        "scan_version": SCAN_VERSION,
        "inputs": [str(p) for p in inputs],
        "records": ingest.records,
        "accounts": len(verdicts),
        "quarantined": ingest.quarantined,
        "flagged_accounts": sum(v.flagged for v in verdicts),
        "campaigns": len(campaigns),
        "threshold": threshold,
        "time_span": [ingest.ts_min, ingest.ts_max],
        "seconds": round(seconds, 3),
        "requests_per_second": round(ingest.records / seconds, 1) if seconds > 0 else None,
    }
    (out_dir / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
