"""Helpers of the console tests: a small hostile scan, a store, a logged-in HTTP client."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from distillwatch.review.actions import EnforceConfig, ShareConfig
from distillwatch.review.app import create_app
from distillwatch.review.auth import add_user
from distillwatch.review.store import Store
from scan_fixtures import START, account, campaign, cid, link_graph, sample, write_scan

HOSTILE = '<script>alert("owned")</script>'
PASSWORD = "correct horse battery"
CAMPAIGN = cid(1)
KEY_FILE_TEXT = b"console-test-group-key-0123456789"


def findings(account_row: dict[str, Any], *kinds: str) -> dict[str, Any]:
    """The row with its findings replaced by one of each kind (the evidence key)."""
    account_row["findings"] = [
        {"kind": k, "severity": "high", "text": f"{k} seen", "tactic": None, "basis": "fraud"}
        for k in kinds
    ]
    return account_row


def _recent() -> tuple[float, float]:
    """Hours after the fixtures' START that end yesterday: the sharing policy drops
    indicators not seen for weeks, and the preview should show some."""
    ago = (dt.datetime.now(dt.UTC) - START) / dt.timedelta(hours=1)
    return ago - 30.0, ago - 24.0


def build_scan(out: Path, loose_kinds: tuple[str, ...] = ("disposable_email",)) -> Path:
    """A campaign of four flagged accounts, one flagged account outside it, two benign ones;
    a sample prompt and a reason written by the attacker to break the page."""
    hours = _recent()
    members = [
        findings(
            account(f"acct_h{i}", 0.97, True, CAMPAIGN, reasons=[f"reason {HOSTILE}"], hours=hours),
            "shared_payment",
            "cot_share",
        )
        for i in range(4)
    ]
    loose = findings(account("acct_loose", 0.91, True, None), *loose_kinds)
    benign = [account("acct_b1"), account("acct_b2")]
    c = campaign(CAMPAIGN, members)
    c["indicators"]["user_agents"] = [HOSTILE]
    samples = [
        sample("acct_h0", CAMPAIGN, f"Explain step by step {HOSTILE}"),
        sample("acct_loose", None, "Grade this answer from 1 to 10"),
    ]
    card, both = ("payment_fingerprint",), ("payment_fingerprint", "template", "ip_prefix")
    graph = link_graph(
        CAMPAIGN,
        [
            ("acct_h0", "acct_h1", both, 0.96),
            ("acct_h1", "acct_h2", card, 0.9),
            ("acct_h2", "acct_h3", card, 0.9),
            ("acct_h0", "acct_h3", ("template", "ip_prefix", "user_agent"), 0.66),
        ],
        dropped=2,
    )
    return write_scan(out, [*members, loose, *benign], [c], samples, link_graphs=[graph])


def make_store(tmp_path: Path, users: dict[str, str] | None = None) -> Store:
    store = Store(str(tmp_path / "console.db"))
    with store.begin() as conn:
        for name, role in (users or {"ana": "analyst", "vic": "viewer"}).items():
            add_user(conn, store.t, "test", name, role, PASSWORD)
    return store


def make_client(store: Store, tmp_path: Path) -> TestClient:
    key = tmp_path / "group.key"
    key.write_bytes(KEY_FILE_TEXT)
    app = create_app(
        store,
        EnforceConfig(state=tmp_path / "state" / "overrides.jsonl"),
        ShareConfig(key_file=key),
    )
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "name": name, "password": password, "next": "/"},
    )


def logged_in(store: Store, tmp_path: Path, name: str = "ana") -> tuple[TestClient, str]:
    """A client with a session, and the session's CSRF token."""
    client = make_client(store, tmp_path)
    assert login(client, name).status_code == 303
    return client, csrf_of(client.get("/").text)
