"""The forwarding half of the reverse proxy: send the request upstream, stream the answer back.

A plain ASGI app around one pooled ``aiohttp`` client session. It asks the upstream for an
uncompressed body (``accept-encoding: identity``) and does not decompress anything itself,
so the middleware can read responses for the log while every byte, server-sent events
included, reaches the client unchanged and as soon as it arrives.

Why aiohttp and not httpx: httpx writes a request's headers and body as two socket sends;
on a busy host each loopback send cost ~0.8 ms, and sequential requests through httpx took
3.5-5 ms against 1.2 ms with aiohttp (one send for a small request) — the whole overhead
budget of the gateway (see ``benchmarks/results/gateway.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
import orjson
from multidict import CIMultiDict

from distillwatch.gateway.middleware import Message, Receive, Scope, Send, read_body, respond

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones
#: the HTTP client and the ASGI server set themselves.
_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length",
        "accept-encoding",
    }
)  # fmt: skip

Hook = Callable[[], Awaitable[None]]


class Forwarder:
    def __init__(
        self,
        upstream: str,
        upstream_key: str | None = None,
        timeout: float = 600.0,
        max_connections: int = 512,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.base = upstream.rstrip("/")
        #: ``--upstream http://host/v1`` and a request for ``/v1/...``: do not send /v1/v1.
        self._strip = "/v1" if parts.path.rstrip("/").endswith("/v1") else ""
        self.upstream_key = upstream_key
        self.timeout = timeout
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self.on_startup: list[Hook] = []
        self.on_shutdown: list[Hook] = []

    async def session(self) -> aiohttp.ClientSession:
        """The pooled client, made in the serving event loop on first use."""
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    self._session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=self.max_connections),
                        timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=10),
                        auto_decompress=False,
                        skip_auto_headers=("User-Agent", "Accept"),
                    )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if self._strip and path.startswith(self._strip + "/"):
            path = path[len(self._strip) :]
        query = scope.get("query_string", b"")
        url = self.base + path + ("?" + query.decode("latin-1") if query else "")
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP
        )
        headers["accept-encoding"] = "identity"
        if self.upstream_key:
            headers["authorization"] = f"Bearer {self.upstream_key}"
        body = await read_body(receive)
        session = await self.session()
        try:
            response = await session.request(
                scope["method"], url, headers=headers, data=body, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            message = f"upstream unreachable: {type(exc).__name__}"
            error = {"message": message, "type": "upstream_error", "code": "bad_gateway"}
            payload = orjson.dumps({"error": error})
            await respond(send, 502, [(b"content-type", b"application/json")], payload)
            return
        try:
            out = [
                (k, v) for k, v in response.raw_headers if k.decode("latin-1").lower() not in _HOP
            ]
            length = response.headers.get("content-length")
            chunked = "transfer-encoding" in response.headers
            if length is not None and not chunked:
                out.append((b"content-length", length.encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            # With a known length, the last chunk says so itself: the middleware logs the
            # record before the client can see the response complete.
            left = int(length) if length is not None and not chunked else -1
            done = False
            async for chunk in response.content.iter_any():
                left -= len(chunk)
                done = left == 0
                await send({"type": "http.response.body", "body": chunk, "more_body": not done})
            if not done:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            response.release()

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
