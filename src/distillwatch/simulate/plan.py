"""The pieces every population and tactic shares: accounts, plans, request bodies, models.

A behaviour turns one :class:`Account` into a :class:`Plan`: the request timestamps (NumPy)
plus a ``render(i)`` function that builds request ``i`` from pre-drawn arrays. Rendering is a
pure function of the index, so the engine can emit requests in global time order, lazily,
without holding a million dicts in memory — and the output does not depend on that order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distillwatch.simulate import infra
from distillwatch.simulate.corpus import Corpus
from distillwatch.simulate.phrasing import ASSISTANT_REPLIES, FOLLOW_UPS
from distillwatch.simulate.scenario import Scenario

Body = dict[str, Any]
DAY = 86400.0


@dataclass(frozen=True)
class Ctx:
    """Read-only inputs shared by all behaviours in a run."""

    scenario: Scenario
    corpus: Corpus
    net: infra.Network


@dataclass
class Account:
    """One API account: identity, infrastructure, and (for labels only) its ground truth."""

    account_id: str
    label: str  # benign | attack
    group: str  # population (benign) or tactic (attack)
    campaign_id: str | None
    org_id: str
    key_ids: tuple[str, ...]
    created: float
    payment_fingerprint: str
    email_domain: str
    country: str
    tz: float
    user_agents: tuple[str, ...]
    ips: list[str] = field(default_factory=list)
    asns: list[int] = field(default_factory=list)
    ip_countries: list[str] = field(default_factory=list)
    ip_mode: str = "sticky"  # sticky (home + sometimes mobile) | pool | rotate
    shared: dict[str, Any] = field(default_factory=dict)  # campaign state; never written


@dataclass
class Plan:
    """An account's requests: times (any order) and how to render each one."""

    ts: np.ndarray
    render: Callable[[int], Body]
    ip_idx: np.ndarray | None = None  # per-request index into Account.ips (else by ip_mode)


def identity(
    ctx: Ctx,
    rng: np.random.Generator,
    *,
    label: str,
    group: str,
    campaign_id: str | None = None,
    created: float | None = None,
    age_days: tuple[float, float] = (30.0, 900.0),
    country: str | None = None,
    email: str | None = None,
    payment: str | None = None,
    org_id: str | None = None,
    ua_family: str = "sdk",
    n_keys: int = 1,
    network: str = "home",
) -> Account:
    """A new account with metadata drawn the same way for benign and attack accounts.

    ``network``: ``home`` (one residential IP, sometimes a mobile one), ``cloud`` (a few
    addresses at one cloud provider), ``proxy`` (caller fills rotating residential IPs).
    """
    sc = ctx.scenario
    cc = country or infra.pick_country(rng)
    if created is None:
        created = sc.start_ts - rng.uniform(*age_days) * DAY
    acct = Account(
        account_id=infra.hex_ids(rng, 1, 8, "acct_")[0],
        label=label,
        group=group,
        campaign_id=campaign_id,
        org_id=org_id or infra.hex_ids(rng, 1, 6, "org_")[0],
        key_ids=tuple(infra.hex_ids(rng, n_keys, 6, "key_")),
        created=float(created),
        payment_fingerprint=payment or infra.hex_ids(rng, 1, 8, "pm_")[0],
        email_domain=email or infra.email_domain(rng, free=0.7, disposable=0.015),
        country=cc,
        tz=infra.tz_of(cc),
        user_agents=tuple(
            infra.user_agent(rng, ua_family) for _ in range(1 + int(rng.random() < 0.3))
        ),
    )
    if network == "home":
        attach(acct, rng, infra.home_isp(rng, ctx.net, cc), 1)
        if rng.random() < 0.5:
            mob = ctx.net.of_kind("mobile", cc)
            attach(acct, rng, mob[int(rng.integers(len(mob)))], 1)
    elif network == "cloud":
        clouds = ctx.net.of_kind("cloud")
        attach(acct, rng, clouds[int(rng.integers(len(clouds)))], int(rng.integers(2, 6)))
        acct.ip_mode = "pool"
    return acct


def attach(acct: Account, rng: np.random.Generator, asn: infra.Asn, n: int) -> None:
    """Give ``acct`` ``n`` addresses inside ``asn``."""
    acct.ips.extend(infra.ip_in(rng, asn, n))
    acct.asns.extend([asn.number] * n)
    acct.ip_countries.extend([asn.country] * n)


def proxy_ips(
    ctx: Ctx, acct: Account, rng: np.random.Generator, n: int, countries: Sequence[str] = ()
) -> None:
    """Residential-proxy exits: ``n`` addresses spread over many residential/mobile ASNs,
    large ISPs and small (only those in ``countries`` when given)."""
    net = ctx.net
    big = net.of_kind("residential") + net.of_kind("mobile")
    small = net.of_kind("residential_small")
    if countries:
        big = [a for a in big if a.country in countries] or big
        small = [a for a in small if a.country in countries] or small
    # exits sit in homes: on small ISPs as often as home users are (infra.SMALL_ISP_USERS)
    pool = big + small
    on_small = rng.random(n) < infra.SMALL_ISP_USERS
    which = np.where(
        on_small, len(big) + rng.integers(0, len(small), n), rng.integers(0, len(big), n)
    )
    ips: list[str] = [""] * n
    for k in np.unique(which).tolist():
        slots = np.flatnonzero(which == k).tolist()
        for slot, ip in zip(slots, infra.ip_in(rng, pool[k], len(slots)), strict=True):
            ips[slot] = ip
    acct.ips.extend(ips)
    acct.asns.extend(pool[k].number for k in which.tolist())
    acct.ip_countries.extend(pool[k].country for k in which.tolist())
    acct.ip_mode = "rotate"


def lognormal_rate(rng: np.random.Generator, mean: float, sigma: float = 0.6) -> float:
    """A per-account rate around a population mean (heavy-tailed, mean preserved)."""
    return float(mean * rng.lognormal(-sigma * sigma / 2, sigma))


def active_span(
    ctx: Ctx, acct: Account, params: dict[str, Any] | None = None
) -> tuple[float, float]:
    """[start, end) of an account's activity: after creation, inside the campaign window."""
    sc = ctx.scenario
    a, b = sc.start_ts, sc.end_ts
    if params:
        a = max(a, sc.start_ts + params.get("start_hour", 0.0) * 3600.0)
        if params.get("end_hour", -1.0) >= 0:
            b = min(b, sc.start_ts + params["end_hour"] * 3600.0)
    return max(a, acct.created + 600.0), b


def pick_models(
    ctx: Ctx,
    rng: np.random.Generator,
    ts: np.ndarray,
    adopt_p: float,
    weights: Sequence[float] = (0.55, 0.3, 0.15),
) -> np.ndarray:
    """Model name per request: usual models, and for adopters the new one after release.

    An adopting account switches at release + an exponential delay (mean a third of
    ``adoption_hours``); never before the release.
    """
    sc = ctx.scenario
    names = np.array([*sc.models, sc.new_model], dtype=object)
    w = np.asarray(weights[: len(sc.models)], dtype=float)
    w = np.pad(w, (0, len(sc.models) - len(w)), constant_values=0.05)
    base = rng.choice(len(sc.models), p=w / w.sum())
    idx = np.where(
        rng.random(len(ts)) < 0.85, base, rng.choice(len(sc.models), len(ts), p=w / w.sum())
    )
    if rng.random() < adopt_p:
        switch = sc.release_ts + min(
            rng.exponential(sc.adoption_hours * 3600 / 3), sc.adoption_hours * 3600.0
        )
        idx = np.where((ts >= switch) & (rng.random(len(ts)) < 0.85), len(sc.models), idx)
    out: np.ndarray = names[idx]
    return out


def body(
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    out_tokens: int,
    *,
    system: str | None = None,
    tools: list[dict[str, Any]] | None = None,
    tools_chars: int = 0,
    prior_tokens: int = 0,
    finish: str = "stop",
    text: str | None = None,
    tool_calls: list[dict[str, str]] | None = None,
    reasoning_tokens: int = 0,
    endpoint: str = "chat",
) -> Body:
    """A request body with usage estimated from its text (about 4 characters per token)."""
    chars = sum(len(m["content"]) for m in messages) + (len(system) if system else 0)
    b: Body = {"model": model, "endpoint": endpoint}
    if system is not None:
        b["system"] = system
    b["messages"] = messages
    if tools is not None:
        b["tools"] = tools
    b["params"] = params
    resp: dict[str, Any] = {"finish_reason": finish}
    if text is not None:
        resp["text"] = text
    if tool_calls is not None:
        resp["tool_calls"] = tool_calls
    b["response"] = resp
    usage = {
        "input_tokens": (chars + tools_chars) // 4 + 4 * len(messages) + prior_tokens,
        "output_tokens": int(out_tokens),
    }
    if reasoning_tokens:
        usage["reasoning_tokens"] = int(reasoning_tokens)
    b["usage"] = usage
    return b


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def conversation(
    first: str, step: int, fu: Sequence[int], rep: Sequence[int], base: int
) -> list[dict[str, Any]]:
    """Messages of turn ``step`` of a chat that opened with ``first``.

    Earlier turns use follow-ups ``fu[base + k]`` and assistant replies ``rep[base + k]``
    (indices of the session's own earlier requests), so each turn repeats its history.
    """
    msgs: list[dict[str, Any]] = [user(first)]
    for k in range(1, step + 1):
        msgs.append({"role": "assistant", "content": ASSISTANT_REPLIES[rep[base + k - 1]]})
        msgs.append(user(FOLLOW_UPS[fu[base + k]]))
    return msgs


def out_tokens(
    rng: np.random.Generator, n: int, median: float, sigma: float = 0.7, cap: int = 8000
) -> np.ndarray:
    """Log-normal output lengths (tokens), at least 1."""
    return np.clip(rng.lognormal(np.log(median), sigma, n), 1, cap).astype(np.int64)
