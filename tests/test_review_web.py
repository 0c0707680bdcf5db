"""The console over HTTP: nothing readable anonymously, sessions and CSRF, roles, escaping of
traffic text, and the case workflow acting through the enforcement store and share preview."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.enforce.store import MemoryStore
from distillwatch.review import cases
from distillwatch.review.importer import import_scan
from distillwatch.review.store import Store
from review_kit import (
    CAMPAIGN,
    HOSTILE,
    PASSWORD,
    build_scan,
    csrf_of,
    logged_in,
    login,
    make_client,
    make_store,
)

CAMPAIGN_URL = f"/campaigns/1/{CAMPAIGN}"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = make_store(tmp_path)
    import_scan(store, build_scan(tmp_path / "scan"), "t")
    return store


def _status(store: Store, subject: str) -> str:
    with store.begin() as conn:
        return next(c.status for c in cases.listing(conn, store.t, None) if c.subject == subject)


def _case_id(store: Store, subject: str) -> int:
    with store.begin() as conn:
        return next(c.id for c in cases.listing(conn, store.t, None) if c.subject == subject)


def test_nothing_is_readable_anonymously(store: Store, tmp_path: Path) -> None:
    client = make_client(store, tmp_path)
    for path in (
        "/",
        CAMPAIGN_URL,
        "/accounts/acct_h0",
        "/cases",
        "/audit",
        "/intel",
        "/verdicts.jsonl",
    ):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = client.post(f"/cases/{_case_id(store, CAMPAIGN)}/confirm", data={"csrf": "x"})
    assert r.status_code == 403 and _status(store, CAMPAIGN) == "open"
    assert "acct_h0" not in client.get("/login").text


def test_login_sets_a_strict_httponly_session_that_logout_ends(store: Store, tmp_path: Path):
    client = make_client(store, tmp_path)
    assert login(client, "ana", "wrong password!").status_code == 401
    assert login(client, "nobody", PASSWORD).status_code == 401
    r = login(client, "ana")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("dw_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200 and CAMPAIGN in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    stolen = client.cookies.get("dw_session")
    client.post("/logout", data={"csrf": csrf_of(page.text)})
    client.cookies.clear()
    client.cookies.set("dw_session", stolen)
    assert client.get("/").status_code == 303  # the session ended on the server


def test_forged_or_tampered_cookies_and_login_without_its_token_fail(store: Store, tmp_path):
    client = make_client(store, tmp_path)
    login(client, "ana")
    token, mac = client.cookies["dw_session"].split(".")
    client.cookies.clear()
    client.cookies.set("dw_session", f"{token}x.{mac}")
    assert client.get("/").status_code == 303
    fresh = make_client(store, tmp_path)  # no login-form cookie: CSRF on the login itself
    r = fresh.post("/login", data={"csrf": "guess", "name": "ana", "password": PASSWORD})
    assert r.status_code == 403 and "dw_session" not in fresh.cookies
    r = fresh.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in r.text


def test_every_post_needs_the_sessions_csrf_token(store: Store, tmp_path: Path) -> None:
    client, csrf = logged_in(store, tmp_path)
    _other, other_csrf = logged_in(store, tmp_path, "vic")
    url = f"/cases/{_case_id(store, CAMPAIGN)}/confirm"
    assert client.post(url, data={"reason": "no token"}).status_code == 403
    assert client.post(url, data={"csrf": other_csrf}).status_code == 403
    assert _status(store, CAMPAIGN) == "open"
    assert client.post(url, data={"csrf": csrf}).status_code == 303
    assert _status(store, CAMPAIGN) == "confirmed"


def test_a_viewer_reads_but_cannot_act(store: Store, tmp_path: Path) -> None:
    client, csrf = logged_in(store, tmp_path, "vic")
    assert client.get(CAMPAIGN_URL).status_code == 200
    r = client.post(f"/cases/{_case_id(store, CAMPAIGN)}/confirm", data={"csrf": csrf})
    assert r.status_code == 403 and "analyst role" in r.text
    assert client.get("/verdicts.jsonl").status_code == 403
    assert _status(store, CAMPAIGN) == "open"


OUR_SCRIPTS = [
    '<script src="/static/vendor/uPlot.iife.min.js" defer>',
    '<script src="/static/charts.js" defer>',
    '<script src="/static/graph.js" defer>',
]


def test_text_from_traffic_is_shown_as_text(store: Store, tmp_path: Path) -> None:
    client, _ = logged_in(store, tmp_path)
    escaped = "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;"
    for path in ("/", CAMPAIGN_URL, "/accounts/acct_h0"):
        page = client.get(path).text
        assert HOSTILE not in page, path
        assert re.findall(r"<script[^>]*>", page) == OUR_SCRIPTS, path  # nothing inline
        assert escaped in page, path
    campaign = client.get(CAMPAIGN_URL).text
    assert f"Explain step by step {escaped}" in campaign  # the sample prompt
    assert f"<td>{escaped}</td>" in campaign or f", {escaped}" in campaign  # the user agent


def test_hostile_forms_get_clear_errors_and_change_nothing(store: Store, tmp_path: Path) -> None:
    client, csrf = logged_in(store, tmp_path)
    case = _case_id(store, "acct_loose")
    r = client.post(f"/cases/{case}/dismiss", data={"csrf": csrf, "reason": " "})
    assert r.status_code == 400 and "needs a reason" in r.text
    r = client.post(
        f"/cases/{case}/dismiss",
        content=b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = client.post(f"/cases/{case}/dismiss", json={"csrf": csrf, "reason": "r"})
    assert r.status_code == 415
    r = client.post(
        f"/cases/{case}/dismiss",
        content=f"csrf={csrf}&reason=a&reason=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and "given twice" in r.text
    r = client.post(
        "/account-actions/enforce",
        data={
            "csrf": csrf,
            "account_id": "acct_loose",
            "action": "block",
            "ttl": "forever",
            "reason": "x",
        },
    )
    assert r.status_code == 400 and "ttl" in r.text
    r = client.post(
        "/account-actions/enforce",
        data={"csrf": csrf, "account_id": "nobody", "action": "block", "reason": "x"},
    )
    assert r.status_code == 400 and "no account nobody" in r.text
    assert client.get("/?page=-1").status_code == 400
    assert client.get("/campaigns/1/C-nothere").status_code == 404
    assert _status(store, "acct_loose") == "open"
    assert not (tmp_path / "state" / "overrides.jsonl").exists()


def _overrides(tmp_path: Path) -> dict:
    return asyncio.run(MemoryStore(tmp_path / "state" / "overrides.jsonl").overrides(time.time()))


def test_confirm_block_share_preview_unblock_all_audited(store: Store, tmp_path: Path) -> None:
    client, csrf = logged_in(store, tmp_path)
    share = f"{CAMPAIGN_URL}/share-preview"
    r = client.post(share, data={"csrf": csrf})
    assert r.status_code == 409 and "confirm it first" in r.text
    case = _case_id(store, CAMPAIGN)
    assert (
        client.post(f"/cases/{case}/assign", data={"csrf": csrf, "assignee": "vic"}).status_code
        == 400
    )
    client.post(f"/cases/{case}/assign", data={"csrf": csrf, "assignee": "ana"})
    client.post(
        f"/cases/{case}/confirm", data={"csrf": csrf, "reason": "shared card, one template"}
    )
    r = client.post(
        f"{CAMPAIGN_URL}/enforce",
        data={"csrf": csrf, "action": "block", "ttl": "7d", "reason": "confirmed hydra"},
    )
    assert r.status_code == 303 and r.headers["location"] == CAMPAIGN_URL
    found = _overrides(tmp_path)
    assert sorted(found) == [f"acct_h{i}" for i in range(4)]
    assert found["acct_h0"].action.value == "block" and found["acct_h0"].source == "override"
    assert found["acct_h0"].reasons == ("manual override: confirmed hydra",)
    assert found["acct_h0"].until - time.time() == pytest.approx(7 * 86400, abs=120)
    page = client.get(CAMPAIGN_URL).text
    assert "confirmed" in page and page.count("block until") == 4

    r = client.post(share, data={"csrf": csrf})
    assert r.status_code == 200
    assert "TLP:AMBER" in r.text and "never leave" in r.text and "hmac-sha256" in r.text

    r = client.post(
        "/account-actions/enforce",
        data={
            "csrf": csrf,
            "account_id": "acct_h2",
            "action": "unblock",
            "reason": "customer appeal",
        },
    )
    assert r.status_code == 303
    assert sorted(_overrides(tmp_path)) == ["acct_h0", "acct_h1", "acct_h3"]

    log = client.get("/audit").text
    for action in (
        "case.assign",
        "case.confirm",
        "enforce.block",
        "share.preview",
        "enforce.unblock",
    ):
        assert f"<td>{action}</td>" in log, action
    assert "customer appeal" in log and "shared card, one template" in log
    assert "customer appeal" in client.get("/accounts/acct_h2").text
    verdicts = client.get("/verdicts.jsonl")
    assert verdicts.status_code == 200 and verdicts.text.count('"confirmed"') == 4


def test_user_add_takes_the_password_from_the_environment_or_stdin(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "c.db")]
    runner = CliRunner()

    def add(name: str, role: str, stdin: str, env: str = "") -> Any:
        argv = ["console", "user", "add", name, "--role", role, *db]
        return runner.invoke(app, argv, input=stdin, env={"DISTILLWATCH_CONSOLE_PASSWORD": env})

    r = add("kim", "admin", "", env="a long passphrase")
    assert r.exit_code == 0, r.output
    r = add("lee", "viewer", "another passphrase\n")
    assert r.exit_code == 0, r.output
    r = add("max", "viewer", "short\n")
    assert r.exit_code != 0 and "at least 10" in r.output
    r = add("max", "boss", "long enough pass\n")
    assert r.exit_code != 0 and "role must be" in r.output
    r = runner.invoke(
        app, ["console", "user", "add", "max", "--role", "viewer", "--password", "x" * 12, *db]
    )
    assert r.exit_code != 0  # no way to put a password on the command line
    assert runner.invoke(app, ["console", "user", "list", *db]).output.split() == [
        "kim",
        "admin",
        "lee",
        "viewer",
    ]
    store = Store(str(tmp_path / "c.db"))
    client = make_client(store, tmp_path)
    assert login(client, "lee", "another passphrase").status_code == 303
    assert b"another passphrase" not in (tmp_path / "c.db").read_bytes()


def test_repeated_failed_logins_lock_the_name_out(store: Store, tmp_path: Path) -> None:
    client = make_client(store, tmp_path)
    for _ in range(10):
        assert login(client, "ana", "not the password").status_code == 401
    assert login(client, "ana").status_code == 401  # right password, refused while locked
    assert login(client, "vic").status_code == 303  # other names are not affected
    log = client.get("/audit").text
    assert log.count("<td>login.failed</td>") == 10 and "<td>login.refused</td>" in log


def test_escalate_then_throttle_and_confirm_an_account(store: Store, tmp_path: Path) -> None:
    client, csrf = logged_in(store, tmp_path)
    case = _case_id(store, "acct_loose")
    url = f"/cases/{case}/escalate"
    assert client.post(url, data={"csrf": csrf, "reason": "needs legal"}).status_code == 303
    assert _status(store, "acct_loose") == "escalated"
    r = client.post(url, data={"csrf": csrf, "reason": "again"})
    assert r.status_code == 400 and "only an open case" in r.text
    form = {"csrf": csrf, "account_id": "acct_loose", "action": "throttle", "ttl": "2h"}
    assert (
        client.post("/account-actions/enforce", data={**form, "reason": "slow"}).status_code == 303
    )
    got = _overrides(tmp_path)["acct_loose"]
    assert got.action.value == "throttle" and got.retry_after == 60.0
    assert got.until - time.time() == pytest.approx(7200, abs=60)
    assert client.post(f"/cases/{case}/confirm", data={"csrf": csrf}).status_code == 303
    page = client.get("/accounts/acct_loose").text
    assert "throttle until" in page and "needs legal" in page
    assert "<td>case.escalate</td>" in page and "<td>enforce.throttle</td>" in page
