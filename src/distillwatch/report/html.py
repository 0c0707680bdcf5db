"""``report.html``: one self-contained file an analyst can open offline or attach to a ticket.

Everything is inline (CSS, SVG charts drawn in Python, a few lines of script for sorting and
filtering the account table); nothing is fetched. Prompts, account ids and indicator values
come from attacker-controlled traffic, so the templates autoescape everything and the charts
escape their own text. Long lists are capped (see :class:`ReportLimits`) and the report says
how many rows it left out, so a scan of 100k accounts still gives a small, fast page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

from distillwatch.report.charts import (
    SERIES,
    TimelineRow,
    bucket_counts,
    prevalence_counts,
    prevalence_svg,
    share_bars_svg,
    time_axis,
    timeline_svg,
)
from distillwatch.report.scandir import (
    load_accounts,
    load_campaigns,
    load_samples,
    load_summary,
    load_timeline,
)
from distillwatch.report.timefmt import duration, parse_ts, short_ts

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class ReportLimits:
    """How much the report lists before it summarises the rest as "N more"."""

    campaigns: int = 50
    timeline_rows: int = 40
    accounts_per_campaign: int = 200
    flagged_accounts: int = 500
    indicator_values: int = 12
    samples_outside: int = 20


DEFAULT_LIMITS = ReportLimits()

_ENV = Environment(
    loader=PackageLoader("distillwatch.report", "templates"),
    autoescape=select_autoescape(
        enabled_extensions=("html", "j2"), disabled_extensions=("css", "js"), default=True
    ),
    trim_blocks=True,
    lstrip_blocks=True,
)


def capped(values: list[Any], limit: int) -> dict[str, Any]:
    """The first ``limit`` values and how many were left out."""
    return {"shown": values[:limit], "more": max(len(values) - limit, 0)}


def _totals(summary: dict[str, Any], accounts: pl.DataFrame, campaigns: int) -> dict[str, Any]:
    span = summary.get("time_span") or [None, None]
    quarantined = summary.get("quarantined") or {}
    return {
        "records": summary.get("records"),
        "accounts": summary.get("accounts", accounts.height),
        "flagged": summary.get("flagged_accounts", int(accounts["flagged"].sum())),
        "campaigns": summary.get("campaigns", campaigns),
        "quarantined": sum(quarantined.values()) if isinstance(quarantined, dict) else 0,
        "quarantine_reasons": sorted(quarantined.items(), key=lambda kv: -kv[1])
        if isinstance(quarantined, dict)
        else [],
        "threshold": summary.get("threshold"),
        "first": short_ts(span[0]),
        "last": short_ts(span[1]),
        "span": duration(span[0], span[1]),
        "rps": summary.get("requests_per_second"),
        "seconds": summary.get("seconds"),
        "inputs": summary.get("inputs") or [],
    }


def _charts(
    timeline: pl.DataFrame, campaigns: list[dict[str, Any]], limits: ReportLimits
) -> dict[str, Any]:
    axis = time_axis(timeline)
    if axis is None:
        return {"prevalence": None, "timeline": None, "legend": [], "unit": "hour"}
    counts = prevalence_counts(timeline, axis)
    per_campaign = bucket_counts(
        timeline.filter(pl.col("campaign_id").is_not_null()), axis, pl.col("campaign_id")
    )
    shown = campaigns[: limits.timeline_rows]
    rows = [
        TimelineRow(
            c["campaign_id"],
            parse_ts(c["first_seen"]),
            parse_ts(c["last_seen"]),
            per_campaign.get(c["campaign_id"], []),
        )
        for c in shown
    ]
    total = sum(sum(v) for v in counts.values()) or 1
    legend = [
        {
            "label": label,
            "colour": colour,
            "requests": sum(counts[key]),
            "share": sum(counts[key]) / total,
        }
        for key, label, colour in SERIES
    ]
    return {
        "prevalence": prevalence_svg(counts, axis),
        "timeline": timeline_svg(rows, axis) if rows else None,
        "timeline_more": max(len(campaigns) - len(shown), 0),
        "legend": legend,
        "unit": axis.unit,
    }


def _campaign_view(
    c: dict[str, Any], samples: list[dict[str, Any]], limits: ReportLimits
) -> dict[str, Any]:
    indicators = [
        {
            "kind": kind.replace("_", " "),
            **capped([str(v) for v in values], limits.indicator_values),
        }
        for kind, values in c["indicators"].items()
        if isinstance(values, list) and values
    ]
    return {
        **c,
        "first": short_ts(c["first_seen"]),
        "last": short_ts(c["last_seen"]),
        "span": duration(c["first_seen"], c["last_seen"]),
        "member_list": capped(c["accounts"], limits.accounts_per_campaign),
        "capability_chart": share_bars_svg(c["capabilities"]) if c["capabilities"] else None,
        "indicator_list": indicators,
        "link_list": sorted(c["links"].items(), key=lambda kv: -kv[1]),
        "samples": samples,
    }


def _flagged_rows(accounts: pl.DataFrame, limit: int) -> tuple[list[dict[str, Any]], int]:
    flagged = accounts.filter(pl.col("flagged")).sort(
        ["score", "requests", "account_id"], descending=[True, True, False], nulls_last=True
    )
    return flagged.head(limit).to_dicts(), max(flagged.height - limit, 0)


def build_context(scan_dir: Path, limits: ReportLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Everything the template shows, from the scan files alone (no labels, no logs)."""
    summary = load_summary(scan_dir)
    accounts = load_accounts(scan_dir)
    campaigns = load_campaigns(scan_dir)
    samples = load_samples(scan_dir)
    by_campaign: dict[str | None, list[dict[str, Any]]] = {}
    for s in samples:
        by_campaign.setdefault(s.get("campaign_id"), []).append(s)
    shown = campaigns[: limits.campaigns]
    flagged, flagged_more = _flagged_rows(accounts, limits.flagged_accounts)
    outside = accounts.filter(pl.col("flagged") & pl.col("campaign_id").is_null()).height
    return {
        "scan_dir": str(scan_dir),
        "version": summary.get("scan_version"),
        "totals": _totals(summary, accounts, len(campaigns)),
        "charts": _charts(load_timeline(scan_dir), campaigns, limits),
        "campaigns": [
            _campaign_view(c, by_campaign.get(c["campaign_id"], []), limits) for c in shown
        ],
        "campaigns_more": len(campaigns) - len(shown),
        "flagged": flagged,
        "flagged_more": flagged_more,
        "flagged_outside": outside,
        "outside_samples": capped(by_campaign.get(None, []), limits.samples_outside),
    }


def render_html(context: dict[str, Any]) -> str:
    """The report page for a context from :func:`build_context`."""
    return _ENV.get_template("report.html.j2").render(**context)


def write_html_report(scan_dir: Path, limits: ReportLimits = DEFAULT_LIMITS) -> Path:
    """Write ``scan_dir/report.html`` from the scan files in ``scan_dir`` and return its path."""
    path = scan_dir / REPORT_FILE
    path.write_text(render_html(build_context(scan_dir, limits)), encoding="utf-8")
    return path
