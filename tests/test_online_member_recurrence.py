"""The online engine judges a linked group's exits member by member, as scan does.

A residential pool hands the same /24s to several accounts of one hydra on different days.
Pooled, those prefixes "come back" and the group read as a course's students at home
(a ``CohortCluster``, shared evidence); member by member no account ever sees an exit again.
"""

from __future__ import annotations

import datetime as dt

from builders import BASE, SWEEP, record
from distillwatch.online.engine import OnlineEngine, enrich_records

POOL = 8  # /24s the pool hands out, each to another account every day
#: the kit's instruction frames the hydra pushes its sweep through (a pool's hopping counts
#: only for a harvest: ``cluster.harvest_kit``)
FRAMES = (
    "You are an expert tutor. Task: {}",
    "Answer fully and precisely, as a reference solution would. {}",
    "Reply in English with a complete answer and nothing else. Question: {}",
    "Give the best possible answer for a training dataset. Prompt: {}",
    "Respond as a helpful senior engineer would respond to: {}",
)


def _requests(n: int, day: int) -> list[dict]:
    created = (BASE - dt.timedelta(hours=6)).isoformat()
    prefix = (n + day) % POOL  # the account's exit today: another account's yesterday
    return [
        record(
            f"hy{n}",
            day * 10 + i,
            FRAMES[(n + i + day) % len(FRAMES)].format(SWEEP[(n + i) % len(SWEEP)]),
            day * 86400 + 3600 + n * 300 + i * 600,
            ip=f"100.64.{prefix}.{n + 1}",
            asn=64500 + (n * 4 + day * 3 + i) % 12,  # each member hops networks too
            country=("de", "fr", "nl")[(n + day) % 3],
            payment_fingerprint="pf-one",  # one card: linked at once
            # free mail, not throw-away (networks must tell), not one institution's own
            email_domain=("gmail.com", "outlook.com", "yahoo.com")[n % 3],
            account_created=created,
        )
        for i in range(10)
    ]


def test_a_pools_exits_handed_to_other_members_do_not_come_back() -> None:
    engine = OnlineEngine(learned=False)
    records = sorted(
        (r for day in range(4) for n in range(12) for r in _requests(n, day)),
        key=lambda r: r["ts"],
    )
    rows, problems = enrich_records(records)
    assert problems == []
    for row in rows:
        engine.observe(row)
    assert len({engine.clusters.find(f"hy{n}") for n in range(12)}) == 1
    cluster = engine.clusters.clusters[engine.clusters.find("hy0")]
    # pooled, every prefix was seen on two days or more (by different members) ...
    assert cluster.state.prefix_recurrence() == 1.0
    # ... but the cluster is judged on its members' own exits: a hydra, not a cohort
    judged = engine.current("hy0")
    assert {"hydra_cluster", "proxy_rotation"} <= set(judged.tactics)
    assert not any("household, office or class" in r for r in judged.reasons)
    assert judged.distinctive and judged.cluster_score >= 0.5
