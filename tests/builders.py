"""Small hand-built traffic logs for detection tests (no simulator, so tests say what they mean)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson

BASE = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def record(account: str, i: int, text: str, seconds: float, **fields: Any) -> dict[str, Any]:
    """One traffic log v1 chat request ``seconds`` after :data:`BASE`."""
    out: dict[str, Any] = {
        "ts": (BASE + dt.timedelta(seconds=seconds)).isoformat(),
        "account_id": account,
        "request_id": f"{account}-{i}",
        "endpoint": "chat",
        "model": "model-a",
        "messages": [{"role": "user", "content": text}],
        "usage": {"input_tokens": 40, "output_tokens": 250},
        "status": 200,
    }
    out.update(fields)
    return out


def write_log(path: Path, records: list[dict[str, Any]], broken: list[bytes] = ()) -> Path:
    """Write records as JSON Lines; ``broken`` lines are appended verbatim."""
    with path.open("wb") as fh:
        for r in records:
            fh.write(orjson.dumps(r) + b"\n")
        for line in broken:
            fh.write(line + b"\n")
    return path


SWEEP = [
    "Solve for x: 3x + 7 = 22.",
    "Write a Python function that merges two sorted lists.",
    "Translate into German: the train leaves at nine.",
    "What is the capital of Peru?",
    "Write a short poem about autumn rain.",
    "Summarize the following text: The committee met on Monday and agreed the budget.",
    "Which of these answers is better? Answer A: 4. Answer B: 5. Rate each from 1 to 10.",
    "Use the get_weather tool to find the weather in Paris.",
]

CASUAL = [
    "What's a good recipe for a quick pasta dinner?",
    "How do I fix a flat bicycle tire?",
    "Can you recommend a few books like The Hobbit?",
    "My cat keeps scratching the sofa, what can I do?",
]


def casual_user(account: str, n: int, start: float = 0.0) -> list[dict[str, Any]]:
    return [
        record(account, i, CASUAL[i % len(CASUAL)], start + i * 900.0, ip="198.51.100.20")
        for i in range(n)
    ]


def cot_harvester(account: str, n: int) -> list[dict[str, Any]]:
    """Step-by-step asks over a sweep from a throw-away sign-up behind a residential proxy
    pool: a tutoring app asks the same, so the evasion and the fraud marker are what let it
    flag."""
    suffix = " Explain your reasoning step by step before giving the final answer."
    return [
        record(
            account,
            i,
            SWEEP[i % len(SWEEP)] + suffix,
            i * 900.0,  # every quarter hour for days: exits that never come back
            # a residential proxy pool: a fresh exit in another network every few requests
            ip=f"198.51.{i // 5}.{i % 5 + 1}",
            asn=64600 + i // 5 % 40,
            country=("DE", "BR", "VN", "US", "IN", "PL")[i // 5 % 6],
            email_domain="mailinator.com",
            account_created="2026-11-14T00:00:00Z",
        )
        for i in range(n)
    ]


def hydra(prefix: str, accounts: int, each: int) -> list[dict[str, Any]]:
    out = []
    for a in range(accounts):
        for i in range(each):
            out.append(
                record(
                    f"{prefix}{a}",
                    i,
                    f"{SWEEP[(a + i) % len(SWEEP)]} (case {i})",
                    a * 37.0 + i * 600.0,
                    ip=f"203.0.{a % 5}.{(a * 25 + i) % 250}",  # one proxy pool of five /24s
                    asn=65000 + a,
                    payment_fingerprint=f"pf-shared-{a % 3}",
                    email_domain="mailinator.com" if a % 2 else "gmail.com",
                    account_created="2026-11-01T00:00:00Z",
                )
            )
    return out


def rules_engine_after(records: list[dict[str, Any]]) -> Any:
    """A rules-only online engine that has observed ``records`` (enriched; none rejected)."""
    from distillwatch.online.engine import OnlineEngine, enrich_records

    engine = OnlineEngine(learned=False)
    rows, problems = enrich_records(records)
    assert problems == []
    for row in rows:
        engine.observe(row)
    return engine
