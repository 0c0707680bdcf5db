"""Pull from every source, then refresh the block list: once, or as a polling daemon.

The daemon is what brings "seconds from one member's block to another's": it polls each
source every ``interval`` seconds (default 2 s -- a cheap ``added_after`` query when nothing
is new), and the moment new objects arrive it rewrites the block list file, which the
gateway's matcher reloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from distillwatch.share.blocklist import DEFAULT_BLOCK_AT, entries_from, write_blocklist
from distillwatch.share.client import PullResult, ShareClientError, Source, pull
from distillwatch.share.extension import FINGERPRINT_TYPE
from distillwatch.share.keyed import GroupKey
from distillwatch.share.server.store import Store
from distillwatch.share.trust import TrustPolicy, apply

DEFAULT_INTERVAL = 2.0
_TYPES = ("indicator", FINGERPRINT_TYPE, "relationship")


@dataclass
class Cycle:
    results: dict[str, PullResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    entries: int | None = None  # block list size when it was rewritten

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results.values())


def refresh_blocklist(
    store: Store,
    path: Path,
    key: GroupKey | None,
    block_at: float = DEFAULT_BLOCK_AT,
    trust: TrustPolicy | None = None,
) -> int:
    """Rewrite the block list from everything in the import store, within the trust policy's
    caps and weights (:mod:`.trust`); its number of entries."""
    pairs = [(producer, orjson.loads(body)) for _, producer, body in store.latest(_TYPES)]
    entries, _ = apply(entries_from(pairs), trust or TrustPolicy())
    write_blocklist(path, entries, key.key_id if key else None, block_at)
    return len(entries)


def sync_once(
    sources: Sequence[Source],
    store: Store,
    blocklist: Path | None,
    key: GroupKey | None,
    *,
    client: httpx.Client | None = None,
    block_at: float = DEFAULT_BLOCK_AT,
    trust: TrustPolicy | None = None,
) -> Cycle:
    """One pull of every source; the block list is rewritten when something new arrived."""
    cycle = Cycle()
    for source in sources:
        try:
            cycle.results[source.url] = pull(source, store, client=client)
        except ShareClientError as exc:
            cycle.errors[source.url] = str(exc)
    if blocklist is not None and (cycle.new or not blocklist.exists()):
        cycle.entries = refresh_blocklist(store, blocklist, key, block_at, trust)
    return cycle


def follow(
    sources: Sequence[Source],
    store: Store,
    blocklist: Path | None,
    key: GroupKey | None,
    *,
    interval: float = DEFAULT_INTERVAL,
    cycles: int | None = None,
    on_cycle: Callable[[Cycle], None] | None = None,
    block_at: float = DEFAULT_BLOCK_AT,
    trust: TrustPolicy | None = None,
) -> None:
    """Poll until stopped (or for ``cycles`` rounds); a failing source is retried next round."""
    done = 0
    with httpx.Client(timeout=30.0, verify=sources[0].tls if sources else True) as client:
        while cycles is None or done < cycles:
            started = time.monotonic()
            cycle = sync_once(
                sources, store, blocklist, key, client=client, block_at=block_at, trust=trust
            )
            if on_cycle:
                on_cycle(cycle)
            done += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
