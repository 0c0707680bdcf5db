"""``DistillwatchMiddleware``: enforcement and traffic logging for any ASGI model server.

Every request but ``GET /metrics`` must carry a known API key, whatever its route: nothing is
served or forwarded for an unknown caller. The path is normalised and looked up in the
allow-list of :mod:`distillwatch.gateway.routes`; a POST to an enforced route
(``.../chat/completions``, ``.../completions``, ``.../responses``, ``.../embeddings``,
``.../messages``) has its body read (bounded) and checked (:mod:`distillwatch.gateway.body`),
is decided on, refused with the action's HTTP answer or passed on, and is recorded as a
traffic log v1 record with its response — a record ``scan`` and the online engine always
accept (:mod:`distillwatch.gateway.sanitize`). The reverse proxy is this same middleware
around an app that forwards, so both ways of deploying behave identically.

It is a pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so streamed responses
pass through chunk by chunk, untouched, and nothing is buffered but the request body.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, MutableMapping
from typing import Any, Protocol

import orjson

from distillwatch.enforce.decision import Decision
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.gateway.body import (
    DEFAULT_LIMIT,
    BadRequest,
    ClientGone,
    check_structure,
    parse_object,
    read_limited,
)
from distillwatch.gateway.keys import Identity, KeyRing, api_key
from distillwatch.gateway.metrics import GatewayMetrics
from distillwatch.gateway.record import ResponseCapture, request_record
from distillwatch.gateway.responses import Refusal, bad_request, refusal_for, unauthorized
from distillwatch.gateway.routes import Route, RouteError, resolve
from distillwatch.gateway.sanitize import MAX_RAW, ingestible

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Scope key where the app behind the middleware says why a response ended early
#: (``client_disconnected``, ``upstream_idle_timeout``, ...); it goes into the record.
INTERRUPTED = "distillwatch.interrupted"
#: Response header carrying the gateway's request id (what support and the log know it by).
REQUEST_ID_HEADER = b"x-distillwatch-request-id"


class LocalActions(Protocol):
    """Actions this gateway can still apply while the shared state is unreachable."""

    def apply(self, decision: Decision, now: float) -> Decision: ...


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
        body_limit: int = DEFAULT_LIMIT,
        passthrough: Collection[tuple[str, str]] = (),
        local: LocalActions | None = None,
        ext_authz: str | None = None,
    ) -> None:
        """``passthrough``: extra ``(method, path)`` routes of the app, served to known keys
        without enforcement; ``local``: applied to decisions taken while the state store is
        down (the gateway's copy of active blocks); ``ext_authz``: a path prefix under which
        requests are only decided on and logged, for a proxy that forwards them itself
        (Envoy ``ext_authz``, Kong): ``200`` allows, anything else is the refusal to send."""
        self.app = app
        self.enforcer = enforcer
        self.keys = keys or KeyRing()
        self.sinks = list(sinks)
        self.metrics = metrics or GatewayMetrics()
        self.metrics_path = metrics_path
        self.trust_forwarded = trust_forwarded
        self.body_limit = body_limit
        self.passthrough = frozenset(passthrough)
        self.local = local
        self.ext_authz = ext_authz.rstrip("/") if ext_authz else None
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
        if scope["type"] == "websocket":  # no model API route is a WebSocket: none escapes
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        if scope["path"] == self.metrics_path and method == "GET":
            text = self.metrics.render()
            kind = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
            await respond(send, 200, kind, text)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = api_key(headers)
        identity = self.keys.identify(key)
        if identity is None:  # before anything else: an unknown caller learns nothing
            self.metrics.unauthorized.inc()
            await _send_refusal(send, unauthorized(missing=key is None))
            return
        path: str = scope["path"]
        authz = self.ext_authz is not None and path.startswith(self.ext_authz + "/")
        if authz:
            path = path[len(self.ext_authz or "") :]
        try:
            route = resolve(method, path, self.passthrough)
        except RouteError as exc:
            await _send_refusal(send, bad_request(exc.status, exc.message))
            return
        scope = {**scope, "path": route.path, "raw_path": route.path.encode()}
        if route.endpoint is None:
            if authz:
                await respond(send, 200, [], b"")
            else:
                await self.app(scope, _no_body(receive), send)
            return
        await self._guard(scope, receive, send, route, identity, headers, authz)

    async def _guard(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        identity: Identity,
        headers: dict[str, str],
        authz: bool = False,
    ) -> None:
        started = time.perf_counter()
        endpoint = route.endpoint or "chat"
        request_id = uuid.uuid4().hex
        id_header = (REQUEST_ID_HEADER, request_id.encode())

        def new_record(payload: dict[str, Any]) -> dict[str, Any]:
            record = request_record(
                payload,
                endpoint,
                identity,
                time.time(),
                ip=self._client_ip(scope, headers),
                user_agent=headers.get("user-agent"),
                request_id=request_id,
                api=route.api,
            )
            if headers.get("x-request-id"):
                record["client_request_id"] = headers["x-request-id"][:MAX_RAW]
            return ingestible(record)

        try:
            if headers.get("content-encoding", "identity").lower() not in ("identity", ""):
                raise BadRequest(415, "Compressed request bodies are not accepted.")
            body = await read_limited(receive, self.body_limit, headers.get("content-length"))
            payload = parse_object(body)
            check_structure(payload, endpoint, route.api)
        except BadRequest as exc:  # logged, never forwarded: probing is evidence too
            record = new_record({})
            record["invalid"] = {"body": exc.message[:MAX_RAW], "param": exc.param}
            await self._refuse(record, bad_request(exc.status, exc.message, exc.param), send)
            self.metrics.requests.labels(endpoint, "invalid").inc()
            return
        except ClientGone:
            record = new_record({})
            record.update(status=499, interrupted="client_disconnected")
            self._emit(record)
            return
        record = new_record(payload)
        if authz:
            record["via"] = "ext_authz"
        decision = await self.enforcer.check(record, identity.cluster_id)
        if self.local is not None:
            decision = self.local.apply(decision, time.time())
        self.metrics.decision_seconds.observe(time.perf_counter() - started)
        record["enforcement"] = _enforcement(decision)
        self.metrics.requests.labels(endpoint, decision.action.value).inc()
        if not decision.allowed:
            refusal = refusal_for(decision, self.enforcer.policy.challenge_url)
            record["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
            await self._refuse(record, refusal, send)
            return
        if authz:  # the calling proxy forwards the request: decided, logged, allowed
            record["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
            self._emit(record)
            account = (b"x-distillwatch-account", identity.account_id.encode())
            await respond(send, 200, [id_header, account], b"")
            return
        capture = ResponseCapture(endpoint)
        # What goes on is the object assessed, written out again: no parser differential
        # (duplicate keys, odd escapes) can show the upstream another request than the log.
        body = orjson.dumps(payload)
        scope["headers"] = [
            *((k, v) for k, v in scope["headers"] if k.lower() != b"content-length"),
            (b"content-length", str(len(body)).encode()),
        ]
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        gone = False

        async def replay() -> Message:
            nonlocal gone
            if pending:
                return pending.pop()
            message = await receive()  # after the body: wait for a disconnect
            gone = gone or message["type"] == "http.disconnect"
            return message

        emitted = False

        def finish() -> None:
            nonlocal emitted
            if emitted:
                return
            emitted = True
            elapsed = time.perf_counter() - started
            self.metrics.request_seconds.labels(endpoint).observe(elapsed)
            record.update(capture.fields(elapsed * 1000))
            interrupted = scope.get(INTERRUPTED)
            if interrupted is None and gone and not capture.complete:
                interrupted = "client_disconnected"
            if interrupted is not None:
                record["interrupted"] = interrupted
            if record.get("status") is None or interrupted == "client_disconnected":
                record["status"] = 499  # the client went away before it had the answer
            self._emit(ingestible(record))

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = b""
                for name, value in message.get("headers") or ():
                    if name.lower() == b"content-type":
                        content_type = value
                capture.start(message["status"], content_type.decode("latin-1"))
                message = {**message, "headers": [*(message.get("headers") or ()), id_header]}
            elif message["type"] == "http.response.body":
                capture.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    capture.complete = True
                    finish()  # logged before the client sees the end: a log never lags
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except asyncio.CancelledError:  # shutdown deadline passed: the record says so
            scope.setdefault(INTERRUPTED, "gateway_shutdown")
            raise
        finally:
            finish()

    async def _refuse(self, record: dict[str, Any], refusal: Refusal, send: Send) -> None:
        record["status"] = refusal.status
        self._emit(record)  # before the answer: a log never lags what clients saw
        headers = [*refusal.asgi_headers(), (REQUEST_ID_HEADER, record["request_id"].encode())]
        await respond(send, refusal.status, headers, refusal.body)

    def _emit(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def _client_ip(self, scope: Scope, headers: dict[str, str]) -> str | None:
        if self.trust_forwarded and headers.get("x-forwarded-for"):
            return headers["x-forwarded-for"].split(",")[0].strip()[:64]
        client = scope.get("client")
        return client[0] if client else None


def _no_body(receive: Receive) -> Receive:
    """A pass-through route's request, forwarded without whatever body the client sent."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


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


async def _send_refusal(send: Send, refusal: Refusal) -> None:
    await respond(send, refusal.status, refusal.asgi_headers(), refusal.body)


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
