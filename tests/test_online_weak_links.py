"""Online weak links: scan's noisy-OR of shared weak keys, one request at a time, and a new
account of a known campaign joined at its first request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from builders import BASE, SWEEP, record
from distillwatch.detect.link import LinkConfig
from distillwatch.online.engine import OnlineEngine, enrich_records
from distillwatch.online.weak_links import WeakLinks, weak_keys

UA = "harvest-kit/0.3.1"
FRAME = "Task category: {a}\nInstruction: {x}\nRespond thoroughly and precisely."


def keys(prefix: str | None = None, ua: str | None = None, template: str | None = None) -> dict:
    out = {"ip_prefix": prefix, "user_agent": ua, "template": template}
    return {k: v for k, v in out.items() if v is not None}


def test_a_pair_needs_scans_threshold_of_weak_kinds() -> None:
    links = WeakLinks()
    assert links.observe("a", keys("10.0.1", UA, "t1")).joins == []
    # template (0.4) and user agent (0.2) make 0.52: below scan's 0.6, no pair
    assert links.observe("b", keys("10.9.9", UA, "t1")).joins == []
    # a shared /24 as well (0.3): 0.66, a pair -- found when the prefix is shown
    joins = links.observe("b", keys("10.0.1")).joins
    assert [(j.other, j.kinds) for j in joins] == [("a", ("ip_prefix", "template", "user_agent"))]
    assert round(joins[0].confidence, 3) == 0.664
    assert links.partners("a") == {"b": joins[0].confidence}


def test_three_shared_wrappers_and_a_client_make_a_pair_as_in_scan() -> None:
    links = WeakLinks()
    for t in ("t1", "t2", "t3"):
        links.observe("a", keys(ua=UA, template=t))
    assert links.observe("b", keys(ua=UA, template="t1")).joins == []  # 0.52
    assert links.observe("b", keys(template="t2")).joins == []  # two wrappers: still 0.52
    joins = links.observe("b", keys(template="t3")).joins  # three: 0.5 with the client 0.2
    assert [(j.other, j.kinds) for j in joins] == [
        ("a", ("template", "template_set", "user_agent"))
    ]
    assert round(joins[0].confidence, 3) == 0.6
    alone = WeakLinks()  # wrappers alone never link, however many
    for t in ("t1", "t2", "t3", "t4"):
        alone.observe("c", keys(template=t))
        assert alone.observe("d", keys(template=t)).joins == []


def test_a_template_and_its_sketch_count_once() -> None:
    links = WeakLinks()
    links.observe("a", {"template": "t1", "sketch": "s1", "user_agent": UA})
    # template 0.4 and sketch 0.3 are one family (the same prompt): 0.4 + UA 0.2 = 0.52
    assert links.observe("b", {"template": "t1", "sketch": "s1", "user_agent": UA}).joins == []


def test_a_value_held_by_more_accounts_than_the_cap_links_nobody() -> None:
    links = WeakLinks(LinkConfig(min_group=5, max_group=5))
    for i in range(6):  # six accounts on one popular SDK, one big ISP /24 and one frame
        links.observe(f"u{i}", keys("10.0.0", "openai-python/1.0", "t-common"))
    last = links.observe("u6", keys("10.0.0", "openai-python/1.0", "t-common"))
    assert last.joins == [] and last.holders == []


def test_memory_is_bounded_per_account() -> None:
    links = WeakLinks(per_account=8)
    for i in range(100):  # a proxy pool: a new exit per request
        links.observe("a", keys(prefix=f"10.0.{i}"))
    assert len(links._values["a"]["ip_prefix"]) == 8


def _hydra_request(account: str, i: int, ts: float, n_accounts: int) -> dict[str, Any]:
    created = (BASE - dt.timedelta(hours=6)).isoformat()
    return record(
        account,
        i,
        FRAME.format(a="reasoning", x=SWEEP[i % len(SWEEP)]),
        ts,
        user_agent=UA,
        ip=f"100.{64 + n_accounts}.{i % 3}.{i % 200 + 1}",  # three /24s per pool region
        asn=64500 + (i % 7) + 7 * (n_accounts % 2),
        email_domain="mailinator.com",
        account_created=created,
    )


def _observe(engine: OnlineEngine, records: list[dict[str, Any]]) -> list[Any]:
    rows, problems = enrich_records(records)
    assert problems == []
    return [engine.observe(row) for row in rows]


def test_a_new_account_of_a_known_campaign_is_joined_at_its_first_request() -> None:
    engine = OnlineEngine(learned=False)
    # twelve throw-away accounts on one harvesting kit, one card each, sharing exit /24s
    for n in range(12):
        _observe(engine, [_hydra_request(f"hy{n}", i, n * 600 + i * 20, 0) for i in range(30)])
    roots = {engine.clusters.find(f"hy{n}") for n in range(12)}
    assert len(roots) == 1
    campaign = engine.current("hy0")
    assert campaign.distinctive and campaign.cluster_score >= 0.5
    assert any("linked accounts" in r for r in campaign.reasons)
    # a thirteenth account: fresh, its own exit, but the kit's frame and user agent
    newcomer = _hydra_request("hy-new", 0, 9000, 5)
    newcomer["ip"] = "203.0.113.7"
    first = _observe(engine, [newcomer])[0]
    assert first.cluster_id == campaign.cluster_id
    assert first.distinctive and first.cluster_score == campaign.cluster_score


def test_an_old_account_is_never_joined_on_what_it_shows_alone() -> None:
    engine = OnlineEngine(learned=False)
    for n in range(12):
        _observe(engine, [_hydra_request(f"hy{n}", i, n * 600 + i * 20, 0) for i in range(30)])
    # the kit's frame and user agent, but a customer of two years (an open-source tool's user)
    veteran = _hydra_request("veteran", 0, 9000, 5)
    veteran.update(
        ip="203.0.113.7", email_domain="example.org", account_created="2024-11-01T00:00:00Z"
    )
    assert _observe(engine, [veteran])[0].cluster_id is None


def test_a_campaign_copying_a_products_prompt_and_client_cannot_take_its_new_users() -> None:
    engine = OnlineEngine(learned=False)
    # three users of a niche app came first with its frame and its user agent
    for n in range(3):
        user = _hydra_request(f"app{n}", 0, n * 60, 9)
        user.update(ip=f"198.51.100.{n + 1}", email_domain="example.org")
        _observe(engine, [user])
    # then a campaign of twelve accounts copies both
    for n in range(12):
        _observe(
            engine, [_hydra_request(f"hy{n}", i, 600 + n * 600 + i * 20, 0) for i in range(30)]
        )
    campaign = engine.current("hy0")
    assert campaign.distinctive
    newcomer = _hydra_request("app-new", 0, 9000, 9)
    newcomer.update(ip="203.0.113.7", email_domain="example.org")
    first = _observe(engine, [newcomer])[0]
    assert first.cluster_id != campaign.cluster_id and not first.distinctive


def test_mail_domains_link_whatever_their_case() -> None:
    upper = weak_keys({"email_domain": "MailInator.COM"})
    assert upper == weak_keys({"email_domain": "mailinator.com"})


def test_one_chance_pair_with_a_member_is_not_membership() -> None:
    engine = OnlineEngine(learned=False)
    for n in range(12):
        _observe(engine, [_hydra_request(f"hy{n}", i, n * 600 + i * 20, 0) for i in range(30)])
    # a busy honest user behind the same carrier-grade NAT /24 who once used the same frame,
    # on a different client and reachable mail
    honest = [
        record(
            "honest",
            i,
            FRAME.format(a="reasoning", x=SWEEP[0]) if i == 0 else f"question {i} about my garden",
            20000 + i * 300,
            user_agent="Mozilla/5.0 (Macintosh)",
            ip="100.64.0.9",
            asn=64500,
            email_domain="gmail.com",
        )
        for i in range(20)
    ]
    last = _observe(engine, honest)[-1]
    assert last.cluster_id is None and not last.distinctive


def test_weak_keys_read_the_rows_link_fields() -> None:
    rows, _ = enrich_records([_hydra_request("hy0", 0, 0, 0)])
    got = weak_keys(rows[0])
    assert got["ip_prefix"] == "100.64.0" and got["user_agent"] == UA
    assert got["email_domain"] == "mailinator.com" and "template" in got and "sketch" in got


def _rotating(account: str, n: int, created: str) -> list[dict[str, Any]]:
    """Sixteen single questions over the sweep's areas from one account that shares little
    but the client: its own exit per request, its own mail domain, its own wording."""
    words = ("river", "stone", "cloud", "ember", "maple", "quartz", "harbor", "lilac")
    own = ("alder", "birch", "cedar", "delta", "egret", "fjord", "grove", "heath", "inlet")
    return [
        record(
            account,
            i,
            f"{own[n % 9]}{words[n % 8]} {words[i % 8]} {n}-{i}. {SWEEP[i % len(SWEEP)]}",
            n * 900 + i * 60,
            user_agent=UA,
            ip=f"10.{n}.{i}.9",
            asn=64500 + i,
            email_domain=f"home{n}.example",
            account_created=created,
        )
        for i in range(16)
    ]


def test_new_accounts_rotating_fresh_exits_on_one_rare_client_are_joined() -> None:
    engine = OnlineEngine(learned=False)
    new = (BASE - dt.timedelta(hours=6)).isoformat()
    for n in range(12):
        _observe(engine, _rotating(f"q{n}", n, new))
    assert len({engine.clusters.find(f"q{n}") for n in range(12)}) == 1
    # the same accounts a year old (an open-source tool's users) stay apart
    veterans = OnlineEngine(learned=False)
    for n in range(12):
        _observe(veterans, _rotating(f"v{n}", n, "2025-11-01T00:00:00Z"))
    assert len({veterans.clusters.find(f"v{n}") for n in range(12)}) == 12
