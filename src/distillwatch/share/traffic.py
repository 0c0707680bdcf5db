"""The member's own traffic, reduced to what indicators are matched against.

Both the retro-hunt (which of my accounts match shared campaigns?) and the exporter (which
of a campaign's values also occur in my *other* traffic, and so must not be shared as signs
of it?) need the same thing: the distinct combinations of account, address, network, client,
card, domain and prompt template. They come from a scan's enriched requests when the scan
kept them (``DIR/_work/enriched.parquet``), else from the logs, with template ids computed
by the same signal the scan uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa

COLUMNS = (
    "account_id",
    "ip",
    "asn",
    "user_agent",
    "payment_fingerprint",
    "email_domain",
    "template_id",
)
ENRICHED = Path("_work") / "enriched.parquet"


def request_batches(
    paths: Iterable[str | os.PathLike[str]], columns: tuple[str, ...] = COLUMNS
) -> Iterator[pa.RecordBatch]:
    """``columns`` of every request in the logs, ``template_id`` computed by the scan's signal."""
    from distillwatch.ingest import RequestStream
    from distillwatch.signals.template import TemplateSignal

    signal = TemplateSignal()
    for batch in RequestStream(paths):
        templates = signal(batch)["template_id"]
        cols = {c: batch.column(c) for c in columns if c != "template_id"}
        yield pa.RecordBatch.from_pydict({**cols, "template_id": templates})


def distinct_requests(source: Path | list[Path]) -> pl.DataFrame:
    """Distinct :data:`COLUMNS` combinations of a scan dir's enriched data or of traffic logs."""
    if isinstance(source, Path) and (source / ENRICHED).exists():
        return pl.scan_parquet(source / ENRICHED).select(COLUMNS).unique().collect()
    paths = [source] if isinstance(source, Path) else source
    parts = [pl.DataFrame(pl.from_arrow(b)).unique() for b in request_batches(paths)]
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String))
    return pl.concat(parts).unique()


def values_outside(frame: pl.DataFrame, campaign_accounts: set[str]) -> dict[str, set[str]]:
    """Indicator values (in scan-output form) used by accounts in no campaign, per field."""
    others = frame.filter(~pl.col("account_id").is_in(list(campaign_accounts)))
    ip24 = pl.col("ip").str.extract(r"^(\d+\.\d+\.\d+)\.\d+$", 1) + ".0/24"
    exprs = {
        "ip_prefixes": ip24,
        "asns": pl.col("asn").cast(pl.String),
        "user_agents": pl.col("user_agent"),
        "payment_fingerprints": pl.col("payment_fingerprint"),
        "email_domains": pl.col("email_domain"),
        "template_ids": pl.col("template_id")
        .cast(pl.UInt64)
        .map_elements(lambda v: f"{v:016x}", return_dtype=pl.String),
    }
    out: dict[str, set[str]] = {}
    for field, expr in exprs.items():
        values = others.select(expr.alias("v")).drop_nulls().unique()["v"].to_list()
        out[field] = {str(v) for v in values}
    return out
