"""The interactive charts' data and delivery: columns for uPlot, an escaped data- attribute,
the vendored library served by the app itself, and a CSP that allows only the app's scripts."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from distillwatch.review.charts import series, stacked
from distillwatch.review.importer import import_scan
from review_kit import CAMPAIGN, build_scan, logged_in, make_store


def test_series_are_epoch_hours_with_one_column_per_labelled_series() -> None:
    points = [("2026-01-01T00:00Z", 3, 10), ("2026-01-01T01:00Z", 0, 7)]
    data = series(points, ("flagged", "other requests"))
    assert data == {
        "x": [1767225600, 1767229200],
        "series": [
            {"label": "flagged", "values": [3, 0]},
            {"label": "other requests", "values": [10, 7]},
        ],
    }
    assert series(points, ("requests", "")) == {
        "x": [1767225600, 1767229200],
        "series": [{"label": "requests", "values": [3, 0]}],
    }


def test_unreadable_or_unordered_hours_leave_only_the_svg_bars() -> None:
    assert series([("yesterday", 1, 2)], ("a", "b")) is None
    backwards = [("2026-01-01T01:00Z", 1, 2), ("2026-01-01T00:00Z", 1, 2)]
    assert series(backwards, ("a", "b")) is None
    chart = stacked([("not an hour", 1, 2)], ("a", "b"))
    assert chart is not None and chart.series is None and chart.bars


def test_pages_carry_the_chart_data_and_the_svg_fallback(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    import_scan(store, build_scan(tmp_path / "scan"), "t")
    client, _ = logged_in(store, tmp_path)
    for path in ("/", f"/campaigns/1/{CAMPAIGN}"):
        page = client.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe" not in csp, csp
        raw = re.search(r"data-chart='([^']*)'", page.text)
        assert raw is not None, path
        data = json.loads(html.unescape(raw.group(1)))
        assert data["x"] and all(len(s["values"]) == len(data["x"]) for s in data["series"])
        assert re.search(r"<noscript>\s*<svg", page.text), path
    overview = client.get("/").text
    raw = re.search(r"data-chart='([^']*)'", overview)
    assert raw is not None
    labels = [s["label"] for s in json.loads(html.unescape(raw.group(1)))["series"]]
    assert labels == ["flagged", "other requests"]
    store.close()


def test_the_chart_library_and_code_are_served_by_the_app(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    client, _ = logged_in(store, tmp_path)
    for path, kind in (
        ("/static/vendor/uPlot.iife.min.js", "javascript"),
        ("/static/charts.js", "javascript"),
        ("/static/vendor/uPlot.min.css", "css"),
    ):
        r = client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
    assert "var uPlot" in client.get("/static/vendor/uPlot.iife.min.js").text
    store.close()
