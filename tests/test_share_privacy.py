"""Property: whatever the traffic, no prompt text, account id, e-mail or un-hashed identifier
appears anywhere in any exported bundle."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from distillwatch.share.export import build_bundle
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import DEFAULT_POLICY, load_policy, parse_policy
from scan_fixtures import START, account, sample, write_scan

KEY = GroupKey(b"property-test-group-key")
NOW = START + dt.timedelta(hours=12)
_HEX = st.text("0123456789abcdef", min_size=12, max_size=16)
_WORD = st.text(string.ascii_lowercase, min_size=4, max_size=9)
_MARKED = st.builds(lambda a, b: f"{a}{b}", st.sampled_from(["zq", "xv", "jk"]), _WORD)


def _ids(
    prefix: str, values: st.SearchStrategy[str], least: int = 1
) -> st.SearchStrategy[list[str]]:
    return st.lists(values.map(lambda v: prefix + v), min_size=least, max_size=6, unique=True)


@st.composite
def scans(draw: st.DrawFn) -> dict[str, Any]:
    """A scan output whose every private value is long and distinctive (so a leak is visible
    and a coincidental substring is not)."""
    accounts = draw(_ids("acct_", _HEX, least=2))
    cards = draw(_ids("pm_", _HEX))
    domains = draw(_ids("", _MARKED.map(lambda w: f"{w}.example")))
    emails = [f"{draw(_MARKED)}@{d}" for d in domains]
    prompts = draw(
        st.lists(st.lists(_MARKED, min_size=4, max_size=8).map(" ".join), min_size=1, max_size=4)
    )
    octets = draw(st.lists(st.integers(1, 254), min_size=4, max_size=4))
    full_ips = [f"100.{octets[0]}.{octets[1]}.{o}" for o in octets[2:]]
    agents = [
        f"bot/{draw(st.integers(1, 9))}.0",
        f"mailer/1 ({emails[0]})",
        *draw(st.lists(st.sampled_from(prompts + accounts), max_size=2)),
    ]
    return {
        "accounts": accounts,
        "cards": cards,
        "domains": domains,
        "emails": emails,
        "prompts": prompts,
        "full_ips": full_ips,
        "agents": agents,
        "tactics": draw(
            st.lists(st.sampled_from(["hydra_cluster", *accounts, *prompts]), max_size=3)
        ),
    }


def _write(out: Path, s: dict[str, Any]) -> Path:
    members = [
        account(a, 0.97, True, "C-0000abcd", reasons=[f"{a} shares {s['cards'][0]}"])
        for a in s["accounts"]
    ]
    campaign = {
        "campaign_id": "C-0000abcd",
        "accounts": s["accounts"],
        "score": 0.97,
        "first_seen": "2026-03-02T00:00:00Z",
        "last_seen": "2026-03-02T05:00:00Z",
        "requests": 100,
        "tactics": s["tactics"],
        "capabilities": {"reasoning": 0.5, s["prompts"][0]: 0.5},
        "indicators": {
            "ip_prefixes": [*s["full_ips"], "198.18.36.0/24"],
            "asns": [64512],
            "user_agents": s["agents"],
            "payment_fingerprints": s["cards"],
            "email_domains": s["domains"] + s["emails"],
            "template_ids": ["00ff00ff00ff00ff"],
        },
        "links": {"payment_fingerprint": 3},
        "reasons": [f"linked {s['accounts'][0]} via {s['emails'][0]}: {s['prompts'][0]}"],
    }
    samples = [
        sample(a, "C-0000abcd", p) for a, p in zip(s["accounts"], s["prompts"], strict=False)
    ]
    return write_scan(out, members, [campaign], samples)


def _secrets(s: dict[str, Any]) -> list[str]:
    return [*s["accounts"], *s["cards"], *s["domains"], *s["emails"], *s["prompts"], *s["full_ips"]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(s=scans())
def test_no_private_value_leaves_in_any_bundle(tmp_path_factory: Any, s: dict[str, Any]) -> None:
    scan = _write(tmp_path_factory.mktemp("scan"), s)
    result = build_bundle(scan, load_policy(None), KEY, now=NOW)
    assert result.campaigns, "the campaign must be exported for the property to mean something"
    text = json.dumps(result.bundle)
    for secret in _secrets(s):
        assert secret not in text, f"{secret!r} leaked"
    assert "/32" not in text  # a full address never leaves in the clear


@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.generate],  # each example simulates and scans: no slow shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_traffic_scanned_and_exported_leaks_nothing(
    tmp_path_factory: Any, seed: int
) -> None:
    """Random simulated traffic (benign populations and campaigns) through the real scan and
    export: no account id, prompt, card, e-mail domain or address of the log is in the bundle."""
    import orjson

    from distillwatch.scan import run_scan
    from distillwatch.simulate import load_scenario, simulate

    tmp = tmp_path_factory.mktemp("traffic")
    scenario = load_scenario(None, seed=seed, accounts=120, days=0.5, format="jsonl")
    simulate(scenario, tmp / "sim")
    log = tmp / "sim" / "traffic.jsonl"
    run_scan([log], tmp / "scan")
    # share every campaign the scan found, however weak: the most that could leak
    everything = DEFAULT_POLICY.replace("min_campaign_score = 0.8", "min_campaign_score = 0.0")
    everything = everything.replace("min_campaign_accounts = 2", "min_campaign_accounts = 1")
    result = build_bundle(
        tmp / "scan",
        parse_policy(everything),
        KEY,
        now=dt.datetime.fromtimestamp(scenario.start_ts, dt.UTC) + dt.timedelta(days=1),
    )
    text = json.dumps(result.bundle)
    secrets: set[str] = set()
    with log.open("rb") as fh:
        for line in fh:
            r = orjson.loads(line)
            secrets.update(
                str(r[k]) for k in ("account_id", "payment_fingerprint", "ip") if r.get(k)
            )
            if r.get("email_domain"):
                secrets.add(f'"{r["email_domain"]}"')  # as a JSON value (it may be a substring)
            secrets.update(
                m["content"]
                for m in r.get("messages", [])
                if isinstance(m.get("content"), str) and len(m["content"]) >= 24
            )
    assert result.campaigns, "the scan found no campaign to export"
    leaked = sorted(x for x in secrets if x in text)
    assert not leaked, f"leaked: {leaked[:5]}"
