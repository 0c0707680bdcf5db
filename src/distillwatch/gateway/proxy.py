"""The forwarding half of the reverse proxy: send the request upstream, stream the answer back.

A plain ASGI app around one pooled ``aiohttp`` client session. It asks the upstream for an
uncompressed body (``accept-encoding: identity``) and does not decompress anything itself,
so the middleware can read responses for the log while every byte, server-sent events
included, reaches the client unchanged and as soon as it arrives.

What it guards against (each a test in ``tests/test_gateway_faults.py``):

* a pooled connection the upstream closed (a keep-alive race): the request is sent once more,
  on a fresh connection, instead of answering 502;
* a redirect or ``Location`` header from the upstream: never passed on (it names the
  upstream's address); a 3xx becomes a 502;
* a client that goes away: the upstream request is cancelled (its connection closed, so the
  model stops generating) and the record says ``interrupted: client_disconnected``;
* a slow upstream: connect, read (time to the response headers) and idle (silence between
  body chunks, what governs a stream) timeouts, plus an optional total; a stream cut by a
  timeout ends with an error event and the record says why.

Why aiohttp and not httpx: httpx writes a request's headers and body as two socket sends;
on a busy host each loopback send cost ~0.8 ms, and sequential requests through httpx took
3.5-5 ms against 1.2 ms with aiohttp (one send for a small request) — the whole overhead
budget of the gateway (see ``benchmarks/results/gateway.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from multidict import CIMultiDict

from distillwatch.gateway.middleware import INTERRUPTED, Message, Receive, Scope, Send, respond

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones
#: the HTTP client and the ASGI server set themselves.
_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length",
        "accept-encoding",
    }
)  # fmt: skip
#: Client credentials, replaced by the upstream key when the gateway has one.
_CREDENTIALS = frozenset({"authorization", "api-key", "x-api-key"})
#: Response headers that can carry the upstream's address.
_ADDRESS = frozenset({"location", "content-location", "refresh"})
#: Errors of a connection the upstream closed while it sat in the pool: safe to send again.
_STALE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Timeouts:
    """Upstream timeouts in seconds (``None``: no limit)."""

    #: to open a connection
    connect: float | None = 10.0
    #: from sending the request to the response headers (a non-streamed answer is generated
    #: in this time)
    read: float | None = 600.0
    #: the longest silence between two body chunks: what limits a stream, however long
    idle: float | None = 300.0
    #: the whole exchange, body included (off by default: long streams are legitimate)
    total: float | None = None


class Forwarder:
    def __init__(
        self,
        upstream: str,
        upstream_key: str | None = None,
        timeouts: Timeouts | None = None,
        max_connections: int = 512,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.base = upstream.rstrip("/")
        #: ``--upstream http://host/v1`` and a request for ``/v1/...``: do not send /v1/v1.
        self._strip = "/v1" if parts.path.rstrip("/").endswith("/v1") else ""
        self.upstream_key = upstream_key
        self.timeouts = timeouts or Timeouts()
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._fresh: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self.on_startup: list[Hook] = []
        self.on_shutdown: list[Hook] = []
        #: requests sent a second time after a pooled connection turned out closed
        self.retries = 0

    async def session(self, fresh: bool = False) -> aiohttp.ClientSession:
        """The pooled client (or, ``fresh``, one that never reuses a connection), made in the
        serving event loop on first use."""
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    self._session = self._make(pooled=True)
                    self._fresh = self._make(pooled=False)
        session = self._fresh if fresh else self._session
        assert session is not None
        return session

    def _make(self, pooled: bool) -> aiohttp.ClientSession:
        t = self.timeouts
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections, force_close=not pooled),
            timeout=aiohttp.ClientTimeout(
                total=t.total, connect=t.connect, sock_connect=t.connect, sock_read=None
            ),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept"),
        )

    async def close(self) -> None:
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()
        self._session = self._fresh = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _body(receive)
        # The client may leave at any moment — while the upstream generates a non-streamed
        # answer as much as during a stream: watch for it over the whole exchange.
        work = asyncio.ensure_future(self._exchange(scope, body, send))
        gone = asyncio.ensure_future(_disconnect(receive))
        try:
            await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not work.done():  # the client went away (or we are cancelled): stop upstream
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                if gone.done():  # else a shutdown: the middleware records that
                    scope.setdefault(INTERRUPTED, "client_disconnected")
            gone.cancel()
        if not work.cancelled():
            work.result()  # an error nobody handled: let the server see it

    async def _exchange(self, scope: Scope, body: bytes, send: Send) -> None:
        try:
            response = await self._request(scope, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            scope[INTERRUPTED] = f"upstream_{kind}"
            status = 504 if kind == "timeout" else 502
            await _error(send, status, f"upstream {kind}: {type(exc).__name__}")
            return
        finished = False
        try:
            if 300 <= response.status < 400:  # would hand the client the upstream's address
                scope[INTERRUPTED] = "upstream_redirect"
                await _error(send, 502, f"upstream answered {response.status} (redirect)")
            else:
                await self._relay(scope, send, response)
            finished = True
        finally:
            if finished:
                response.release()
            else:  # cut short: drop the connection, so the upstream stops generating
                response.close()

    async def _request(self, scope: Scope, body: bytes) -> aiohttp.ClientResponse:
        path: str = scope["path"]
        if not path.startswith("/v1/"):  # routes called without the prefix: the same API
            path = "/v1" + path
        if self._strip:
            path = path[len(self._strip) :]
        query = scope.get("query_string", b"")
        url = self.base + path + ("?" + query.decode("latin-1") if query else "")
        drop = _HOP | _CREDENTIALS if self.upstream_key else _HOP
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in drop
        )
        headers["accept-encoding"] = "identity"
        if self.upstream_key:
            headers["authorization"] = f"Bearer {self.upstream_key}"
        for fresh in (False, True):
            session = await self.session(fresh)
            try:
                async with asyncio.timeout(self.timeouts.read):
                    return await session.request(
                        scope["method"], url, headers=headers, data=body, allow_redirects=False
                    )
            except aiohttp.ClientConnectorError:
                raise  # a new connection failed: the upstream is down, not a stale pool
            except _STALE:
                if fresh:
                    raise
                self.retries += 1
        raise AssertionError("unreachable")

    async def _relay(self, scope: Scope, send: Send, response: aiohttp.ClientResponse) -> None:
        """Stream the response to the client until it ends or the upstream stalls."""
        out = [
            (k, v)
            for k, v in response.raw_headers
            if k.decode("latin-1").lower() not in _HOP | _ADDRESS
        ]
        length = response.headers.get("content-length")
        chunked = "transfer-encoding" in response.headers
        if length is not None and not chunked:
            out.append((b"content-length", length.encode()))
        stream = response.headers.get("content-type", "").startswith("text/event-stream")
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        try:
            await self._pump(send, response, length, chunked)
        except (TimeoutError, aiohttp.ClientError) as failure:
            kind = "idle_timeout" if isinstance(failure, TimeoutError) else "error"
            scope[INTERRUPTED] = f"upstream_{kind}"
            if not stream:  # a body of known length cannot be completed: end the connection
                raise
            event = {"error": {"message": f"upstream {kind}", "type": "upstream_error",
                               "code": f"upstream_{kind}"}}  # fmt: skip
            chunk = b"data: " + orjson.dumps(event) + b"\n\n"
            await send({"type": "http.response.body", "body": chunk, "more_body": False})

    async def _pump(
        self, send: Send, response: aiohttp.ClientResponse, length: str | None, chunked: bool
    ) -> None:
        # With a known length, the last chunk says so itself: the middleware logs the
        # record before the client can see the response complete.
        left = int(length) if length is not None and not chunked else -1
        done = False
        content = response.content
        idle = self.timeouts.idle
        while not done:
            async with asyncio.timeout(idle):
                chunk = await content.readany()
            if not chunk:
                break
            left -= len(chunk)
            done = left == 0
            await send({"type": "http.response.body", "body": chunk, "more_body": not done})
        if not done:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self.on_startup:
                        await hook()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.on_shutdown:
                    await hook()
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _disconnect(receive: Receive) -> Any:
    """Returns when the client has gone (the ASGI server says so through ``receive``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _error(send: Send, status: int, message: str) -> None:
    error = {"message": message, "type": "upstream_error", "code": "bad_gateway"}
    if status == 504:
        error["code"] = "upstream_timeout"
    payload = orjson.dumps({"error": error})
    await respond(send, status, [(b"content-type", b"application/json")], payload)
