"""Token bucket arithmetic, shared by the in-memory store and mirrored by the Redis script.

A cluster's bucket refills at ``rate`` tokens per second up to ``burst``; each request takes
``cost`` tokens. One bucket per *cluster* rather than per key is the point: a hydra cluster of
800 light accounts gets one budget, not 800.
"""

from __future__ import annotations

from distillwatch.enforce.decision import BucketResult


def take(
    tokens: float | None,
    updated: float,
    now: float,
    rate: float,
    burst: float,
    cost: float = 1.0,
) -> tuple[float, BucketResult]:
    """The bucket's new token count and the outcome; ``tokens=None`` is a new (full) bucket.

    Time going backwards (clocks of replicas a little apart) refills nothing rather than
    failing.
    """
    level = burst if tokens is None else min(burst, tokens + max(0.0, now - updated) * rate)
    if level >= cost:
        level -= cost
        return level, BucketResult(allowed=True, tokens=level)
    return level, BucketResult(allowed=False, tokens=level, retry_after=(cost - level) / rate)
