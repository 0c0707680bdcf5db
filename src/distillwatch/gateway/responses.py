"""The HTTP answer for each action that refuses a request.

Bodies follow the OpenAI error shape (``{"error": {"message", "type", "code", ...}}``) so
existing clients surface them normally, with statuses chosen for what the client should do:

* throttle  — ``429`` with ``Retry-After``: OpenAI SDKs wait and retry by themselves;
* challenge — ``428 Precondition Required``: the account must re-verify (``verify_url``)
  before it may continue; a 4xx that SDKs do not retry, distinct from a block;
* block     — ``403`` with a support ``reference_id`` (also in ``X-Distillwatch-Reference``);
* state unavailable with fail-closed — ``503`` with ``Retry-After``;
* missing or unknown API key — ``401``.

The reasons behind a decision never reach the client (they would teach a campaign which
signal to avoid); the reference id lets support find them in ``decisions.jsonl``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson

from distillwatch.enforce.decision import Action, Decision


@dataclass(frozen=True)
class Refusal:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        base = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        return base + [(k.encode(), v.encode()) for k, v in self.headers]


def _error(message: str, kind: str, code: str, **extra: object) -> bytes:
    error: dict[str, object] = {"message": message, "type": kind, "code": code, "param": None}
    error.update({k: v for k, v in extra.items() if v is not None})
    return orjson.dumps({"error": error})


def refusal_for(decision: Decision, challenge_url: str | None = None) -> Refusal:
    """The response for a decision that does not allow the request."""
    ref = decision.reference_id
    ref_headers = (("x-distillwatch-reference", ref),) if ref else ()
    if decision.source == "unavailable":
        body = _error(
            "The service cannot verify this request right now; please retry shortly.",
            "service_unavailable",
            "distillwatch_unavailable",
        )
        return Refusal(503, body, (("retry-after", "1"),))
    if decision.action is Action.THROTTLE:
        wait = max(1, math.ceil(decision.retry_after or 1))
        body = _error(
            f"Too many requests for this account; retry after {wait} s.",
            "rate_limit_exceeded",
            "distillwatch_throttle",
            retry_after=wait,
        )
        return Refusal(429, body, (("retry-after", str(wait)),))
    if decision.action is Action.CHALLENGE:
        body = _error(
            f"Re-verification is required before this account can continue (reference {ref}).",
            "reverification_required",
            "distillwatch_challenge",
            reference_id=ref,
            verify_url=challenge_url,
        )
        return Refusal(428, body, ref_headers)
    if decision.action is Action.BLOCK:
        body = _error(
            f"This account is blocked from this API (reference {ref}).",
            "access_denied",
            "distillwatch_block",
            reference_id=ref,
        )
        return Refusal(403, body, ref_headers)
    raise ValueError("an allowed request has no refusal")


def unauthorized(missing: bool) -> Refusal:
    message = "No API key provided." if missing else "Incorrect API key provided."
    return Refusal(401, _error(message, "invalid_request_error", "invalid_api_key"))


def bad_request(status: int, message: str, param: str | None = None) -> Refusal:
    """A request the gateway will not forward: ``400`` (body), ``404``/``405`` (route),
    ``413`` (size), ``415`` (compressed body)."""
    kind, code = _BAD.get(status, ("invalid_request_error", "invalid_request"))
    return Refusal(status, _error(message, kind, code, param=param))


_BAD = {
    404: ("invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
}
