"""Prometheus metrics of one gateway (``GET /metrics``).

Each gateway has its own registry, so several gateways (or tests) in one process never
collide. Values owned by other objects (the store's health, the sinks' counters) are read at
scrape time by a collector instead of being copied on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_FAST = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Live(Collector):
    """Gauges and counters whose values live elsewhere, read when Prometheus scrapes."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self.counters: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self) -> Iterator[Metric]:
        for name, (doc, read) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=read())
        for name, (doc, read) in self.counters.items():
            yield CounterMetricFamily(name, doc, value=read())


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "distillwatch_requests",
            "Requests seen by the gateway, by endpoint and action.",
            ["endpoint", "action"],
            registry=self.registry,
        )
        self.unauthorized = Counter(
            "distillwatch_unauthorized_requests",
            "Requests refused for a missing or unknown API key.",
            registry=self.registry,
        )
        self.decision_seconds = Histogram(
            "distillwatch_decision_seconds",
            "Time to assess and decide one request (including the state store).",
            buckets=_FAST,
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "distillwatch_request_seconds",
            "Time from the request to the end of its response, by endpoint.",
            ["endpoint"],
            buckets=_SLOW,
            registry=self.registry,
        )
        self.live = _Live()
        self.registry.register(self.live)

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self.live.gauges[name] = (doc, read)

    def counter(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self.live.counters[name] = (doc, read)

    def render(self) -> bytes:
        return generate_latest(self.registry)
