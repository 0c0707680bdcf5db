"""HTTP plumbing shared by the console's routes: templates, forms, sessions, headers.

Everything a browser sends is hostile until checked: form bodies are size-capped, must be
URL-encoded, and each field is read once as text; every POST carries the session's CSRF
token; every page is rendered with Jinja2 autoescaping, because most of the text shown (account
ids, prompts, reasons, user agents) was written by the traffic's senders.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from distillwatch.review.auth import User
from distillwatch.review.store import ConsoleError

HERE = Path(__file__).parent
COOKIE = "dw_session"
LOGIN_COOKIE = "dw_login"
MAX_BODY = 64 * 1024
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["q"] = lambda v: quote(str(v), safe="")
    env.filters["pct"] = lambda v: f"{100 * float(v):.0f}%"
    return env


class SecurityHeaders:
    """Adds the same strict headers to every response (pages, redirects, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in _HEADERS if h[0] not in names
                ]
            await send(message)

        await self.app(scope, receive, wrapped)


@dataclass(frozen=True)
class Form:
    """A checked URL-encoded body: one text value per field."""

    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def need(self, name: str) -> str:
        value = self.fields.get(name, "").strip()
        if not value:
            raise HttpError(400, f"the form field {name!r} is required")
        return value


async def read_form(request: Request) -> Form:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HttpError(415, "forms must be sent as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HttpError(413, f"form body over {MAX_BODY} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=50,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, f"unreadable form body ({type(exc).__name__})") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise HttpError(400, f"the form field {key!r} is given twice")
        if "\x00" in value:
            raise HttpError(400, f"the form field {key!r} contains a NUL character")
        fields[key] = value
    return Form(fields)


def check_csrf(form: Form, expected: str) -> None:
    if not hmac.compare_digest(form.get("csrf").encode(), expected.encode()):
        raise HttpError(403, "missing or wrong CSRF token; reload the page and try again")


def safe_next(target: str | None) -> str:
    """Only local paths: ``next`` must not send a user to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=303)


class Renderer:
    def __init__(self) -> None:
        self.env = make_env()

    def page(
        self, request: Request, name: str, user: User | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(user=user, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, user: User | None, status: int, message: str) -> Response:
        return self.page(request, "error.html", user, status=status, message=message)


def console_error(exc: ConsoleError) -> HttpError:
    return HttpError(400, str(exc))
