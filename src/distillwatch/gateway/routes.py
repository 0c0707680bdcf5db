"""Which routes the gateway serves, in one canonical spelling.

A client controls every byte of the path, so enforcement must not depend on how it spells
one: ``/v1/chat/completions/``, ``/v1//chat/completions`` and ``/v1/./chat/completions`` are
the same route to most servers, and a gateway that matched only the first spelling let the
others through unchecked. Here a path is normalised once (empty and ``.`` segments dropped,
``..`` refused) and then looked up in an allow-list:

* enforced routes (POST): ``chat/completions``, ``completions``, ``responses``,
  ``embeddings`` and ``messages`` (the Anthropic shape LiteLLM also serves) — identified,
  decided on, logged;
* pass-through routes (GET): ``models`` and ``models/<id>`` — authenticated, not logged (no
  model output);
* anything else is refused (404, or 405 for a known route with another method), so a route
  the gateway does not know can never carry model output past it.

Each route may be called with or without the ``/v1`` prefix. The canonical path is what the
gateway forwards, so what was checked is exactly what the upstream serves.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

#: Enforced route (without prefix) → (traffic log ``endpoint``, request body dialect).
ENFORCED: dict[str, tuple[str, str]] = {
    "chat/completions": ("chat", "openai"),
    "completions": ("completion", "openai"),
    "responses": ("responses", "openai"),
    "embeddings": ("embedding", "openai"),
    "messages": ("chat", "anthropic"),
}
#: Routes forwarded without enforcement (after the key is checked): no model output.
PASSTHROUGH = re.compile(r"models(/[A-Za-z0-9._:@+-]+){0,3}")
PREFIXES = ("/v1", "")
_SEGMENT = re.compile(r"[A-Za-z0-9._:@+~-]+")


@dataclass(frozen=True)
class Route:
    #: The canonical path: what is matched, forwarded and served.
    path: str
    #: Traffic log ``endpoint`` of an enforced route; ``None`` for a pass-through route.
    endpoint: str | None = None
    #: How to read the body: ``openai`` or ``anthropic`` (``/v1/messages``).
    api: str = "openai"


class RouteError(Exception):
    """A path or method the gateway does not serve; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def canonical(path: str) -> str:
    """``path`` without empty or ``.`` segments; ``..`` and odd characters are refused."""
    segments = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == ".." or _SEGMENT.fullmatch(segment) is None:
            raise RouteError(404, "Unknown route.")
        segments.append(segment)
    return "/" + "/".join(segments)


def resolve(method: str, path: str, extra: Collection[tuple[str, str]] = ()) -> Route:
    """The route a request is for; raises :class:`RouteError` for anything not allowed.

    ``extra``: further ``(method, canonical path)`` pairs passed through after the key check
    (for an app that serves more than the model API behind the middleware).
    """
    clean = canonical(path)
    for prefix in PREFIXES:
        if prefix and not clean.startswith(prefix + "/"):
            continue
        rest = clean[len(prefix) + 1 :]
        if rest in ENFORCED:
            if method != "POST":
                raise RouteError(405, f"{clean} accepts POST only.")
            endpoint, api = ENFORCED[rest]
            return Route(clean, endpoint, api)
        if PASSTHROUGH.fullmatch(rest):
            if method != "GET":
                raise RouteError(405, f"{clean} accepts GET only.")
            return Route(clean)
    if (method, clean) in extra:
        return Route(clean)
    raise RouteError(404, "Unknown route.")
