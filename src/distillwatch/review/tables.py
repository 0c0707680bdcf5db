"""The console store's tables (SQLAlchemy Core, portable between SQLite and PostgreSQL).

Scan rows are kept per import (``scan_id``): campaign ids are stable only within one scan, so
a case names the scan it was opened on. Lists of strings and nested objects from the scan
files are kept as JSON text; what pages filter or sort on has its own indexed column.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


@dataclass(frozen=True)
class Tables:
    metadata: sa.MetaData
    scans: sa.Table
    accounts: sa.Table
    campaigns: sa.Table
    graphs: sa.Table
    samples: sa.Table
    timeline: sa.Table
    decisions: sa.Table
    cases: sa.Table
    verdicts: sa.Table
    users: sa.Table
    sessions: sa.Table
    audit: sa.Table
    settings: sa.Table
    intel: sa.Table
    intel_hits: sa.Table


def _scan_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    scans = sa.Table(
        "console_scans",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Float, nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        sa.Column("accounts", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("campaigns", sa.Integer, nullable=False),
        sa.Column("dismissed_before", sa.Integer, nullable=False, default=0),
        sa.Column("threshold", sa.Float),
        sa.Column("first_seen", sa.String(40)),
        sa.Column("last_seen", sa.String(40)),
        sa.Column("timeline", sa.Text, nullable=False),  # JSON [[hour, flagged, other], ...]
    )
    accounts = sa.Table(
        "console_accounts",
        md,
        sa.Column("scan_id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.String(300), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("distinctive", sa.Boolean, nullable=False),
        sa.Column("campaign_id", sa.String(64)),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.String(40)),
        sa.Column("last_seen", sa.String(40)),
        sa.Column("kinds", sa.Text, nullable=False),  # sorted finding kinds, comma-joined
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("dismissed_case", sa.Integer),  # dismissed before on the same evidence
        sa.Index("ix_console_accounts_flagged", "scan_id", "flagged", "score"),
        sa.Index("ix_console_accounts_campaign", "scan_id", "campaign_id"),
        sa.Index("ix_console_accounts_id", "account_id"),
    )
    campaigns = sa.Table(
        "console_campaigns",
        md,
        sa.Column("scan_id", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.String(40)),
        sa.Column("last_seen", sa.String(40)),
        sa.Column("tactics", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),  # capabilities, indicators, links, reasons
        sa.Index("ix_console_campaigns_score", "scan_id", "score"),
    )
    graphs = sa.Table(  # a campaign's link graph, laid out at import (review/graph.py)
        "console_graphs",
        md,
        sa.Column("scan_id", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("graph", sa.Text, nullable=False),  # JSON: nodes, edges, dropped, not_drawn
    )
    samples = sa.Table(
        "console_samples",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.String(64)),
        sa.Column("account_id", sa.String(300), nullable=False),
        sa.Column("ts", sa.String(40)),
        sa.Column("capability", sa.String(64)),
        sa.Column("cot_elicit", sa.Boolean),
        sa.Column("grading_request", sa.Boolean),
        sa.Column("language", sa.String(16)),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Index("ix_console_samples_campaign", "scan_id", "campaign_id"),
        sa.Index("ix_console_samples_account", "account_id"),
    )
    timeline = sa.Table(
        "console_timeline",
        md,
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.String(40), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Index("ix_console_timeline", "scan_id", "campaign_id"),
    )
    decisions = sa.Table(
        "console_decisions",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("replay", sa.Text, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(300)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Index("ix_console_decisions_account", "account_id", "ts"),
    )
    return scans, accounts, campaigns, graphs, samples, timeline, decisions


def _work_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    cases = sa.Table(
        "console_cases",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),  # campaign | account
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("scan_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(100)),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Index("ix_console_cases_subject", "kind", "subject"),
        sa.Index("ix_console_cases_status", "status", "updated_at"),
    )
    verdicts = sa.Table(
        "console_verdicts",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(300), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("kinds", sa.Text, nullable=False),  # the evidence judged
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Index("ix_console_verdicts_account", "account_id", "id"),
    )
    users = sa.Table(
        "console_users",
        md,
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password", sa.String(300), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    sessions = sa.Table(
        "console_sessions",
        md,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    audit = sa.Table(
        "console_audit",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Index("ix_console_audit_subject", "subject"),
    )
    settings = sa.Table(
        "console_settings",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    return cases, verdicts, users, sessions, audit, settings


def _intel_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    """Imported intelligence: the block list ``share pull`` keeps, and ``share hunt``'s hits."""
    intel = sa.Table(
        "console_intel",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("encoding", sa.String(20), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("confidence", sa.Integer, nullable=False),
        sa.Column("valid_until", sa.String(40)),
        sa.Column("shared_by", sa.Integer, nullable=False),
        sa.Index("ix_console_intel_campaign", "source", "campaign"),
    )
    hits = sa.Table(
        "console_intel_hits",
        md,
        sa.Column("account_id", sa.String(300), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
    )
    return intel, hits


def make_tables(schema: str | None = None) -> Tables:
    md = sa.MetaData(schema=schema)
    return Tables(md, *_scan_tables(md), *_work_tables(md), *_intel_tables(md))
