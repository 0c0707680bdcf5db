"""The console in a real browser (Debian's chromium driven by Playwright): log in, open a
campaign (its chart and link graph drawn), confirm it, block its accounts, preview the share,
find it all in the audit log.

Set DISTILLWATCH_CONSOLE_SCREENSHOTS=docs to refresh the screenshots of docs/console.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from distillwatch.review.importer import import_scan
from review_kit import CAMPAIGN, HOSTILE, PASSWORD, build_scan, make_client, make_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _browser_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (.ci/run installs it)")
        pytest.skip("no chromium here (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console_url(tmp_path: Path) -> Iterator[str]:
    store = make_store(tmp_path)
    import_scan(store, build_scan(tmp_path / "scan"), "cli:import")
    app = make_client(store, tmp_path).app  # the same app the HTTP tests use
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    store.close()


def test_login_campaign_confirm_block_share_preview_audit(console_url: str, tmp_path: Path):
    _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("DISTILLWATCH_CONSOLE_SCREENSHOTS") or tmp_path)
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        errors: list[str] = []  # console errors include every CSP violation ("Refused to ...")
        page.on("console", lambda m: _console_error(errors, m))
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{console_url}/campaigns/1/{CAMPAIGN}")
        expect(page).to_have_url(f"{console_url}/login?next=/campaigns/1/{CAMPAIGN}")
        page.fill("input[name=name]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.screenshot(path=str(shots / "console-login.png"))
        page.click("button[type=submit]")

        expect(page.locator("h1")).to_have_text(f"campaign {CAMPAIGN}")
        prompt = page.locator("td.prompt").first
        expect(prompt).to_contain_text(f"Explain step by step {HOSTILE}")  # text, not markup
        expect(page.locator(".case .status")).to_have_text("open")
        _check_chart(page, "requests")
        _check_graph(page)
        page.screenshot(path=str(shots / "console-campaign.png"), full_page=True)

        case = page.locator(".case").first
        case.locator("form[action$='/confirm'] input[name=reason]").fill("one card, one template")
        case.locator("form[action$='/confirm'] button").click()
        expect(page.locator(".case .status")).to_have_text("confirmed")

        enforce = page.locator("form.enforce")
        enforce.locator("select[name=action]").select_option("block")
        enforce.locator("input[name=reason]").fill("confirmed hydra cluster")
        enforce.locator("button").click()
        cells = page.locator("td.enforced")
        expect(cells).to_have_count(4)
        for i in range(4):
            expect(cells.nth(i)).to_contain_text("block until")
        page.screenshot(path=str(shots / "console-blocked.png"), full_page=True)

        page.click("text=share preview")
        expect(page.locator("h1")).to_have_text(f"share preview: campaign {CAMPAIGN}")
        expect(page.locator("table.head")).to_contain_text("TLP:AMBER")
        expect(page.locator("table.preview")).to_contain_text("never leave")
        page.screenshot(path=str(shots / "console-share-preview.png"), full_page=True)

        page.click("text=audit log")
        rows = page.locator("table.audit tr")
        expect(rows.filter(has_text="share.preview")).to_contain_text(f"campaign:{CAMPAIGN}")
        block = rows.filter(has_text="enforce.block").filter(has_text=f"campaign:{CAMPAIGN}")
        expect(block).to_contain_text("confirmed hydra cluster")
        expect(block).to_contain_text("ana")
        expect(rows.filter(has_text="case.confirm")).to_contain_text("one card, one template")
        page.screenshot(path=str(shots / "console-audit.png"), full_page=True)

        page.click("text=overview")
        expect(page.locator("h1")).to_have_text("overview")
        _check_chart(page, "flagged")
        page.locator(".u-legend .u-series", has_text="other requests").click()  # the filter
        expect(page.locator(".u-legend .u-series.u-off")).to_contain_text("other requests")
        page.screenshot(path=str(shots / "console-overview.png"), full_page=True)
        browser.close()
    assert dialogs == []  # no script from the traffic ran
    assert errors == []


def _console_error(errors: list[str], message: Any) -> None:
    """Every console error but the browser's own favicon request (the console has none)."""
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"{message.text} ({message.location.get('url')})")


def _check_chart(page: Any, series: str) -> None:
    """The uPlot chart was drawn from the page's data, and hovering shows an hour's values."""
    from playwright.sync_api import expect

    host = page.locator("[data-drawn=uplot]").first
    expect(host.locator("canvas")).to_have_count(1)
    expect(host.locator(".u-legend")).to_contain_text(series)
    host.scroll_into_view_if_needed()
    box = host.locator(".u-over").bounding_box()
    assert box is not None and box["width"] > 300
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=5)
    values = host.locator(".u-legend .u-series .u-value")
    expect(values.first).not_to_have_text("--")  # the hovered hour


def _check_graph(page: Any) -> None:
    """The link graph: members as nodes, links coloured by kind; hovering a link names its
    kinds and confidence, hovering an account highlights its links, unticking a kind hides the
    links that have only that kind, and the zoom buttons move the view."""
    from playwright.sync_api import expect

    figure = page.locator("figure[data-drawn=graph]")
    expect(figure).to_have_count(1)
    svg = figure.locator("svg.linkgraph")
    expect(svg.locator("[data-node]")).to_have_count(4)
    lines = svg.locator("line.e")
    expect(lines).to_have_count(4)
    for account in ("acct_h0", "acct_h1", "acct_h2", "acct_h3"):
        expect(svg.locator(f"a[href='/accounts/{account}']")).to_have_count(1)
    svg.scroll_into_view_if_needed()
    info = figure.locator(".graph-info")
    strong = svg.locator("line[data-kinds='payment_fingerprint template ip_prefix']")
    strong.hover(force=True)
    expect(info).to_have_text(
        "acct_h0 — acct_h1: payment_fingerprint, template, ip_prefix · confidence 0.96"
    )
    svg.locator("a[href='/accounts/acct_h3'] circle").hover()
    expect(info).to_have_text("acct_h3: 2 listed links")
    expect(svg.locator("line.e.hot")).to_have_count(2)
    card = figure.locator(".legend-item input[value=payment_fingerprint]")
    card.uncheck()
    expect(svg.locator("line.e.off")).to_have_count(2)  # the two card-only links
    card.check()
    expect(svg.locator("line.e.off")).to_have_count(0)
    before = svg.get_attribute("viewBox")
    figure.locator("button[data-zoom=in]").click()
    assert svg.get_attribute("viewBox") != before
    figure.locator("button[data-zoom=reset]").click()
    assert svg.get_attribute("viewBox") == before
