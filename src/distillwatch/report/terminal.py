"""The Rich summary ``scan`` prints: what was scanned, what broke, which campaigns, who else.

Read from the scan files, not from the scan's memory, so it prints the same for a scan run
today and a directory someone sent over last week.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from distillwatch.report.scandir import load_accounts, load_campaigns, load_summary
from distillwatch.report.timefmt import duration, short_ts

#: Rows of the campaign and outside-account tables; the rest are counted, not listed.
MAX_CAMPAIGN_ROWS = 20
MAX_ACCOUNT_ROWS = 15
TOP_CAPABILITIES = 3


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def totals_table(summary: dict[str, Any], accounts: pl.DataFrame, campaigns: int) -> Table:
    span = summary.get("time_span") or [None, None]
    table = Table(title="scan summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("requests", _n(summary.get("records")))
    table.add_row("accounts", _n(summary.get("accounts", accounts.height)))
    flagged = summary.get("flagged_accounts", int(accounts["flagged"].sum()))
    table.add_row("flagged accounts", f"[red]{_n(flagged)}[/]")
    table.add_row("campaigns", f"[red]{_n(summary.get('campaigns', campaigns))}[/]")
    table.add_row(
        "time span", f"{short_ts(span[0])} → {short_ts(span[1])} ({duration(span[0], span[1])})"
    )
    if summary.get("threshold") is not None:
        table.add_row("operating point", f"score ≥ {summary['threshold']}")
    quarantined = summary.get("quarantined") or {}
    table.add_row("quarantined", _n(sum(quarantined.values())))
    for reason, count in sorted(quarantined.items(), key=lambda kv: -kv[1]):
        table.add_row("", f"[yellow]{count:,}[/]  {reason}")
    if summary.get("requests_per_second"):
        table.add_row(
            "throughput",
            f"{summary['requests_per_second']:,.0f} requests/s, {summary.get('seconds', 0):,.1f} s",
        )
    return table


def campaigns_table(campaigns: list[dict[str, Any]]) -> Table:
    table = Table(title="campaigns", title_justify="left")
    table.add_column("campaign", style="bold")
    for name in ("accounts", "requests", "score"):
        table.add_column(name, justify="right")
    table.add_column("tactics")
    table.add_column("top capabilities")
    table.add_column("span")
    for c in campaigns[:MAX_CAMPAIGN_ROWS]:
        caps = sorted(c["capabilities"].items(), key=lambda kv: -kv[1])[:TOP_CAPABILITIES]
        table.add_row(
            c["campaign_id"],
            f"{len(c['accounts']):,}",
            f"{c['requests']:,}",
            f"{c['score']:.2f}",
            ", ".join(c["tactics"]) or "—",
            ", ".join(f"{k} {v:.0%}" for k, v in caps) or "—",
            f"{short_ts(c['first_seen'])} ({duration(c['first_seen'], c['last_seen'])})",
        )
    if len(campaigns) > MAX_CAMPAIGN_ROWS:
        table.add_row(f"[dim]… {len(campaigns) - MAX_CAMPAIGN_ROWS:,} more[/]")
    return table


def outside_table(accounts: pl.DataFrame) -> Table:
    """The highest-scoring flagged accounts that no campaign explains, with their reasons."""
    outside = accounts.filter(pl.col("flagged") & pl.col("campaign_id").is_null())
    return accounts_table(outside, "flagged accounts outside campaigns")


def review_table(accounts: pl.DataFrame, threshold: float) -> Table:
    """High scores on shared behaviour only: honest products do the same, so these are not
    flagged; an analyst may still want to look."""
    shared = accounts.filter(~pl.col("flagged") & (pl.col("score") >= threshold))
    return accounts_table(
        shared, "high scores on shared behaviour only (not flagged: honest products do this too)"
    )


def accounts_table(frame: pl.DataFrame, title: str) -> Table:
    frame = frame.sort("score", "account_id", descending=[True, False])
    table = Table(title=title, title_justify="left")
    table.add_column("account", style="bold")
    table.add_column("score", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("reasons")
    for row in frame.head(MAX_ACCOUNT_ROWS).iter_rows(named=True):
        table.add_row(
            row["account_id"],
            f"{row['score']:.2f}",
            _n(row["requests"]),
            "; ".join(row["reasons"][:3]),
        )
    if frame.height > MAX_ACCOUNT_ROWS:
        table.add_row(f"[dim]… {frame.height - MAX_ACCOUNT_ROWS:,} more[/]")
    return table


def print_scan_summary(scan_dir: Path, console: Console) -> None:
    """Print totals, quarantine reasons, campaigns and the top accounts outside campaigns."""
    summary = load_summary(scan_dir)
    accounts = load_accounts(scan_dir)
    campaigns = load_campaigns(scan_dir)
    console.print(totals_table(summary, accounts, len(campaigns)))
    if campaigns:
        console.print(campaigns_table(campaigns))
    else:
        console.print("[green]no campaigns flagged[/]")
    if accounts.filter(pl.col("flagged") & pl.col("campaign_id").is_null()).height:
        console.print(outside_table(accounts))
    threshold = summary.get("threshold")
    if (
        threshold is not None
        and accounts.filter(~pl.col("flagged") & (pl.col("score") >= threshold)).height
    ):
        console.print(review_table(accounts, float(threshold)))
