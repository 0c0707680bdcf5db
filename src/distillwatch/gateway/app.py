"""Assemble a gateway from its configuration: the one place that wires the parts together.

``build_gateway(GatewayConfig(upstream=...))`` gives an ASGI app (middleware around the
forwarder) ready for uvicorn; the CLI, tests and benchmarks all build gateways this way.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillwatch.enforce.assessment import Assessor, IndicatorMatcher
from distillwatch.enforce.combined import CombinedAssessor
from distillwatch.enforce.enforcer import Enforcer, FailMode
from distillwatch.enforce.policy import load_policy
from distillwatch.enforce.rate_assessor import RateAssessor, load_scan
from distillwatch.enforce.store import EnforcementStore, MemoryStore
from distillwatch.gateway.body import DEFAULT_LIMIT
from distillwatch.gateway.keys import KeyRing, load_keys
from distillwatch.gateway.local_state import MirroredStore
from distillwatch.gateway.metrics import GatewayMetrics
from distillwatch.gateway.middleware import DistillwatchMiddleware, Sink
from distillwatch.gateway.proxy import Forwarder, Timeouts
from distillwatch.gateway.routes import PREFIXES, RouteError, canonical
from distillwatch.gateway.sinks import NatsSink, RotatingJsonl


@dataclass(frozen=True)
class GatewayConfig:
    upstream: str
    policy: Path | None = None
    keys: Path | None = None
    redis: str | None = None
    redis_prefix: str = "distillwatch:"
    #: After Redis fails, requests skip it for this long before trying again.
    redis_retry_interval: float = 1.0
    log_dir: Path | None = None
    nats: str | None = None
    nats_subject: str = "distillwatch.traffic"
    fail_mode: FailMode = "open"
    #: A ``distillwatch scan`` output directory whose verdicts seed the default assessor.
    scan: Path | None = None
    #: ``module:callable`` returning an :class:`Assessor` (called with the key ring).
    assessor: str | None = None
    #: A block list of indicators imported from the sharing group, and its group key file.
    blocklist: Path | None = None
    group_key: Path | None = None
    #: Manual overrides file for the in-memory store (``policy override --state``).
    overrides: Path | None = None
    #: Name of an environment variable holding the key sent upstream instead of the client's.
    upstream_key_env: str | None = None
    trust_forwarded: bool = False
    max_file_bytes: int = 256 * 1024 * 1024
    #: The largest request body accepted (bytes); larger ones get 413 without being read.
    body_limit: int = DEFAULT_LIMIT
    #: Upstream connect / read (to the response headers) / idle (between body chunks) /
    #: total timeouts, seconds; ``None`` for no limit.
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: On SIGTERM: how long requests in flight may finish before they are cancelled.
    shutdown_timeout: float = 10.0
    #: Also answer external-authorisation checks under this path prefix (Envoy, Kong).
    ext_authz: str | None = None
    #: With Redis and fail-open: seconds between refreshes of the local copy of overrides.
    local_refresh: float = 5.0
    #: Scheduling priority (nice) of the online engine's signal worker: on a saturated host
    #: the request path should win the core, learning can wait a moment.
    worker_nice: int = 10


class Gateway:
    """A built gateway: ``app`` for the ASGI server, its parts for tests and metrics."""

    def __init__(self, config: GatewayConfig, assessor: Assessor | None = None) -> None:
        self.config = config
        self.policy = load_policy(config.policy)
        self.keys: KeyRing = load_keys(config.keys)
        if config.upstream_key_env and self.keys.open:
            raise ValueError(
                "--upstream-key-env needs --keys: without a keys file every key is accepted, "
                "so anyone could use the upstream key through the gateway"
            )
        if config.ext_authz is not None:
            check_prefix(config.ext_authz)
        self.store = make_store(config)
        #: with shared state and fail-open: the local copy of active blocks (docs/gateway.md)
        self.local = (
            MirroredStore(self.store) if config.redis and config.fail_mode == "open" else None
        )
        if self.local is not None:
            self.store = self.local
        self.assessor = assessor or make_assessor(config, self.keys)
        self.metrics = GatewayMetrics()
        self.traffic: RotatingJsonl | None = None
        self.decisions: RotatingJsonl | None = None
        sinks: list[Sink] = []
        if config.log_dir is not None:
            self.traffic = RotatingJsonl(
                config.log_dir / "traffic", "traffic", max_bytes=config.max_file_bytes
            )
            self.decisions = RotatingJsonl(config.log_dir / "decisions", "decisions")
            sinks.append(self.traffic)
        self.nats = NatsSink(config.nats, config.nats_subject) if config.nats else None
        if self.nats is not None:
            sinks.append(self.nats)
        self.enforcer = Enforcer(
            self.policy,
            self.assessor,
            self.store,
            fail_mode=config.fail_mode,
            matcher=make_matcher(config),
            on_change=self._record_change,
        )
        upstream_key = os.environ.get(config.upstream_key_env) if config.upstream_key_env else None
        if config.upstream_key_env and not upstream_key:
            raise ValueError(f"environment variable {config.upstream_key_env} is not set")
        self.forwarder = Forwarder(
            config.upstream, upstream_key=upstream_key, timeouts=config.timeouts
        )
        self.forwarder.on_startup.append(self.startup)
        self.forwarder.on_shutdown.append(self.shutdown)
        self.app = DistillwatchMiddleware(
            self.forwarder,
            self.enforcer,
            keys=self.keys,
            sinks=sinks,
            metrics=self.metrics,
            trust_forwarded=config.trust_forwarded,
            body_limit=config.body_limit,
            local=self.local,
            ext_authz=config.ext_authz,
        )
        self._export_counters()

    async def startup(self) -> None:
        if self.config.worker_nice:
            lower_priority(self.config.worker_nice)
        if self.local is not None:
            self.local.start(self.config.local_refresh)
        if self.nats is not None:
            await self.nats.start()

    async def shutdown(self) -> None:
        close = getattr(self.assessor, "close", None)
        if close is not None:  # the online engine's learner thread learns what is queued
            close()
        if self.nats is not None:
            await self.nats.close()
        await self.store.close()
        for log in (self.traffic, self.decisions):
            if log is not None:
                log.close()

    def _record_change(self, decision: Any, record: Any) -> None:
        if self.decisions is not None:
            self.decisions.write(decision.to_record(record["ts"], record["request_id"]))

    def _export_counters(self) -> None:
        forwarder = self.forwarder
        self.metrics.counter(
            "distillwatch_upstream_retries",
            "Requests sent again on a fresh connection after a pooled one was found closed.",
            lambda: float(forwarder.retries),
        )
        if self.local is not None:
            local = self.local
            self.metrics.counter(
                "distillwatch_state_local_holds",
                "Requests held to the local copy of active actions while the state was down.",
                lambda: float(local.held),
            )
        if self.traffic is not None:
            traffic = self.traffic
            self.metrics.counter(
                "distillwatch_log_records",
                "Traffic records written to the log files.",
                lambda: float(traffic.records),
            )
        if self.nats is not None:
            nats = self.nats
            self.metrics.counter(
                "distillwatch_nats_published", "Records published to NATS.", lambda: nats.published
            )
            self.metrics.counter(
                "distillwatch_nats_dropped",
                "Records not published to NATS (queue full or NATS failing).",
                lambda: nats.dropped,
            )


def lower_priority(nice: int) -> int:
    """Renice this process's multiprocessing forkserver and its workers (the online
    engine's signal worker; workers forked later inherit it); returns how many. Linux only;
    anything else is left as it is."""
    stat = Path("/proc/self/stat")
    if not stat.exists():
        return 0
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    tree, size = {os.getpid()}, 0
    while len(tree) != size:
        size = len(tree)
        tree |= {pid for pid, parent in parents.items() if parent in tree}
    done = 0
    for pid in tree - {os.getpid()}:
        try:
            if b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.setpriority(
                    os.PRIO_PROCESS, pid, max(nice, os.getpriority(os.PRIO_PROCESS, pid))
                )
                done += 1
        except OSError:
            continue
    return done


def check_prefix(prefix: str) -> None:
    """An ext_authz prefix must be one plain path that no model route starts with."""
    try:
        clean = canonical(prefix)
    except RouteError:
        clean = ""
    if clean != prefix or clean in ("/", *(p for p in PREFIXES if p)):
        raise ValueError(
            f"--ext-authz must be a plain path prefix such as /ext_authz, got {prefix!r}"
        )


def make_store(config: GatewayConfig) -> EnforcementStore:
    if config.redis:
        from distillwatch.enforce.redis_store import RedisStore

        return RedisStore(
            config.redis, prefix=config.redis_prefix, retry_interval=config.redis_retry_interval
        )
    return MemoryStore(config.overrides)


def make_matcher(config: GatewayConfig) -> IndicatorMatcher | None:
    if config.blocklist is None:
        return None
    from distillwatch.gateway.indicators import BlocklistMatcher

    return BlocklistMatcher(config.blocklist, config.group_key)


#: ``--assessor`` names: both (the default), the decayed rates alone, the online engine alone.
ASSESSORS = ("default", "rate", "online")


def make_assessor(config: GatewayConfig, keys: KeyRing) -> Assessor:
    """The assessor ``config.assessor`` names (one of :data:`ASSESSORS` or ``module:callable``)."""
    choice = config.assessor or "default"
    if choice not in ASSESSORS:
        module, _, name = choice.partition(":")
        if not name:
            raise ValueError(
                f"--assessor must be one of {', '.join(ASSESSORS)} or 'module:callable', "
                f"got {choice!r}"
            )
        factory = getattr(importlib.import_module(module), name)
        assessor = factory(keys)
        if not isinstance(assessor, Assessor):
            raise ValueError(f"{choice} did not return an object with assess(record)")
        return assessor
    verdicts, campaigns = load_scan(config.scan) if config.scan else ({}, {})
    rate = RateAssessor(verdicts=verdicts, campaigns=campaigns, clusters=keys.clusters())
    if choice == "rate":
        return rate
    from distillwatch.online.deferred import for_gateway

    online = for_gateway(keys)
    return online if choice == "online" else CombinedAssessor([online, rate])


def build_gateway(config: GatewayConfig, assessor: Assessor | None = None) -> Gateway:
    return Gateway(config, assessor)
