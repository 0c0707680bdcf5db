"""``DistillwatchMiddleware``: enforcement and traffic logging for any ASGI model server.

Wrap a Starlette or FastAPI app that serves OpenAI-style endpoints and every POST to
``.../chat/completions``, ``.../completions``, ``.../responses`` or ``.../embeddings`` is
identified by its API key, decided on, refused with the action's HTTP answer or passed on,
and recorded as a traffic log v1 record with its response. The reverse proxy is this same
middleware around an app that forwards, so both ways of deploying behave identically.

It is a pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so streamed responses
pass through chunk by chunk, untouched, and nothing is buffered but the request body.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Protocol

from distillwatch.enforce.decision import Decision
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.gateway.keys import KeyRing, api_key
from distillwatch.gateway.metrics import GatewayMetrics
from distillwatch.gateway.record import ResponseCapture, endpoint_of, parse_body, request_record
from distillwatch.gateway.responses import Refusal, refusal_for, unauthorized

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Sink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


class DistillwatchMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        enforcer: Enforcer,
        keys: KeyRing | None = None,
        sinks: Iterable[Sink] = (),
        metrics: GatewayMetrics | None = None,
        metrics_path: str | None = "/metrics",
        trust_forwarded: bool = False,
    ) -> None:
        self.app = app
        self.enforcer = enforcer
        self.keys = keys or KeyRing()
        self.sinks = list(sinks)
        self.metrics = metrics or GatewayMetrics()
        self.metrics_path = metrics_path
        self.trust_forwarded = trust_forwarded
        self.metrics.gauge(
            "distillwatch_state_up",
            "1 while the enforcement state store is reachable, 0 while it is not.",
            lambda: float(self.enforcer.store_up),
        )
        self.metrics.counter(
            "distillwatch_state_errors",
            "Requests during which the enforcement state store could not be reached.",
            lambda: float(self.enforcer.store_errors),
        )
        self.metrics.counter(
            "distillwatch_assess_errors",
            "Requests the assessor failed on (decided with an empty assessment).",
            lambda: float(self.enforcer.assess_errors),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == self.metrics_path and scope["method"] == "GET":
            text = self.metrics.render()
            headers = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
            await respond(send, 200, headers, text)
            return
        endpoint = endpoint_of(path) if scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        await self._guard(scope, receive, send, endpoint)

    async def _guard(self, scope: Scope, receive: Receive, send: Send, endpoint: str) -> None:
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = api_key(headers)
        identity = self.keys.identify(key)
        if identity is None:
            self.metrics.unauthorized.inc()
            await _send_refusal(send, unauthorized(missing=key is None))
            return
        body = await read_body(receive)
        record = request_record(
            parse_body(body),
            endpoint,
            identity,
            time.time(),
            ip=self._client_ip(scope, headers),
            user_agent=headers.get("user-agent"),
            request_id=headers.get("x-request-id"),
        )
        decision = await self.enforcer.check(record, identity.cluster_id)
        self.metrics.decision_seconds.observe(time.perf_counter() - started)
        record["enforcement"] = _enforcement(decision)
        self.metrics.requests.labels(endpoint, decision.action.value).inc()
        if not decision.allowed:
            refusal = refusal_for(decision, self.enforcer.policy.challenge_url)
            record["status"] = refusal.status
            record["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
            self._emit(record)  # before the answer: a log never lags what clients saw
            await _send_refusal(send, refusal)
            return
        capture = ResponseCapture(endpoint)

        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            if pending:
                return pending.pop()
            return await receive()  # after the body: wait for a disconnect

        emitted = False

        def finish() -> None:
            nonlocal emitted
            if emitted:
                return
            emitted = True
            elapsed = time.perf_counter() - started
            self.metrics.request_seconds.labels(endpoint).observe(elapsed)
            record.update(capture.fields(elapsed * 1000))
            if record.get("status") is None:
                record["status"] = 499  # the client went away before a response started
            self._emit(record)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = b""
                for name, value in message.get("headers") or ():
                    if name.lower() == b"content-type":
                        content_type = value
                capture.start(message["status"], content_type.decode("latin-1"))
            elif message["type"] == "http.response.body":
                capture.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    finish()  # logged before the client sees the end: a log never lags
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            finish()

    def _emit(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def _client_ip(self, scope: Scope, headers: dict[str, str]) -> str | None:
        if self.trust_forwarded and headers.get("x-forwarded-for"):
            return headers["x-forwarded-for"].split(",")[0].strip()
        client = scope.get("client")
        return client[0] if client else None


def _enforcement(decision: Decision) -> dict[str, Any]:
    """What the gateway did, kept in the record (an extra field ``scan`` ignores)."""
    out: dict[str, Any] = {"action": decision.action.value, "source": decision.source}
    if decision.reasons and not decision.allowed:
        out["reasons"] = list(decision.reasons)
    if decision.reference_id:
        out["reference_id"] = decision.reference_id
    if decision.cluster_id:
        out["cluster_id"] = decision.cluster_id
    return out


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_refusal(send: Send, refusal: Refusal) -> None:
    await respond(send, refusal.status, refusal.asgi_headers(), refusal.body)


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
