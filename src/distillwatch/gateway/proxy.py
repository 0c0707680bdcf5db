"""The forwarding half of the reverse proxy: send the request upstream, stream the answer back.

A plain ASGI app around one pooled ``httpx.AsyncClient``. It asks the upstream for an
uncompressed body (``accept-encoding: identity``) so the middleware can read responses for
the log while every byte, server-sent events included, reaches the client unchanged and as
soon as it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import orjson

from distillwatch.gateway.middleware import Message, Receive, Scope, Send, read_body, respond

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones
#: httpx and the ASGI server set themselves.
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
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )
        self.on_startup: list[Hook] = []
        self.on_shutdown: list[Hook] = []

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
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in _HOP]
        headers.append((b"accept-encoding", b"identity"))
        if self.upstream_key:
            headers = [(k, v) for k, v in headers if k.lower() != b"authorization"]
            headers.append((b"authorization", f"Bearer {self.upstream_key}".encode()))
        body = await read_body(receive)
        request = self.client.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            message = f"upstream unreachable: {type(exc).__name__}"
            error = {"message": message, "type": "upstream_error", "code": "bad_gateway"}
            payload = orjson.dumps({"error": error})
            await respond(send, 502, [(b"content-type", b"application/json")], payload)
            return
        try:
            out = [
                (k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in _HOP
            ]
            if "content-length" in response.headers and "transfer-encoding" not in response.headers:
                out.append((b"content-length", response.headers["content-length"].encode()))
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            # With a known length, the last chunk says so itself: the middleware logs the
            # record before the client can see the response complete.
            left = int(response.headers.get("content-length", -1))
            done = False
            async for chunk in response.aiter_raw():
                left -= len(chunk)
                done = left == 0
                await send({"type": "http.response.body", "body": chunk, "more_body": not done})
            if not done:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

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
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
