"""Actions, decisions and the enforcement state a decision reads.

Everything here is a frozen value: :func:`distillwatch.enforce.decide.decide` is a pure
function from (policy, assessment, state, now) to a :class:`Decision`, and the stores
(memory, Redis) only load and save these values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the gateway does with a request, mildest first."""

    ALLOW = "allow"
    THROTTLE = "throttle"
    CHALLENGE = "challenge"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        """Severity: when several rules fire, the most severe action wins."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str, where: str = "action") -> Action:
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(a.value for a in cls)
            raise ValueError(f"{where}: unknown action {value!r} (use one of {allowed})") from None


_RANK = {Action.ALLOW: 0, Action.THROTTLE: 1, Action.CHALLENGE: 2, Action.BLOCK: 3}


@dataclass(frozen=True)
class ActiveAction:
    """An action that holds for an account or a cluster until it expires.

    Written when a rule with a ``ttl`` fires (sticky actions) or by a manual override, so the
    next request of the same account gets the same answer without re-deciding, and the block
    keeps the reference id the user was first given.
    """

    action: Action
    until: float  # epoch seconds; the action no longer applies at or after this time
    reasons: tuple[str, ...] = ()
    reference_id: str | None = None
    retry_after: float | None = None
    #: ``override`` for a manual override, otherwise the rule that set it.
    source: str = "rule"
    set_at: float = 0.0

    def active(self, now: float) -> bool:
        return now < self.until

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "until": self.until,
            "reasons": list(self.reasons),
            "reference_id": self.reference_id,
            "retry_after": self.retry_after,
            "source": self.source,
            "set_at": self.set_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActiveAction:
        return cls(
            action=Action.parse(str(data["action"])),
            until=float(data["until"]),
            reasons=tuple(data.get("reasons") or ()),
            reference_id=data.get("reference_id"),
            retry_after=data.get("retry_after"),
            source=str(data.get("source") or "rule"),
            set_at=float(data.get("set_at") or 0.0),
        )


@dataclass(frozen=True)
class BucketResult:
    """The cluster's shared token bucket after this request took (or failed to take) a token."""

    allowed: bool
    tokens: float
    retry_after: float = 0.0


@dataclass(frozen=True)
class EnforcementState:
    """What the enforcement store knows about one request's account and cluster."""

    override: ActiveAction | None = None
    account_action: ActiveAction | None = None
    cluster_action: ActiveAction | None = None
    #: ``None`` when no cluster limit applies (no cluster, or no limit configured).
    cluster_bucket: BucketResult | None = None
    #: The action the account was last given (to record only changes of action).
    last_action: Action | None = None


#: The state of an account nothing is known about (also used when the store is unreachable
#: and the gateway fails open).
EMPTY_STATE = EnforcementState()


@dataclass(frozen=True)
class Decision:
    """The answer for one request, with every reason behind it."""

    action: Action
    account_id: str
    cluster_id: str | None = None
    reasons: tuple[str, ...] = ()
    #: Support reference handed to a blocked or challenged user; never the reasons themselves.
    reference_id: str | None = None
    #: Seconds a throttled client should wait (the HTTP ``Retry-After``).
    retry_after: float | None = None
    #: What decided: ``override``, ``allowlist``, ``account``/``cluster`` (a sticky action),
    #: ``rule:<name>``, ``cluster_limit``, ``default``, ``unavailable``.
    source: str = "default"
    #: Set when the decision should be remembered as a sticky action for the account
    #: (and for the cluster, when ``sticky_cluster``).
    sticky_until: float | None = None
    sticky_cluster: bool = False
    #: True when the account's action differs from the previous one (worth recording).
    changed: bool = False
    rules: tuple[str, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return self.action is Action.ALLOW

    def to_record(self, ts: str, request_id: str) -> dict[str, Any]:
        """The ``decisions.jsonl`` line (the replay contract, plus the gateway's extras)."""
        return {
            "ts": ts,
            "account_id": self.account_id,
            "request_id": request_id,
            "action": self.action.value,
            "reasons": list(self.reasons),
            "cluster_id": self.cluster_id,
            "reference_id": self.reference_id,
            "source": self.source,
            "retry_after": self.retry_after,
        }


def reference_id(account_id: str, request_id: str) -> str:
    """A short support reference, stable for one request so retries of a decision agree."""
    digest = hashlib.blake2b(f"{account_id}\x1f{request_id}".encode(), digest_size=6)
    return "DW-" + digest.hexdigest().upper()


def manual_override(
    account_id: str,
    action: Action,
    seconds: float,
    reason: str,
    now: float,
    retry_after: float = 60.0,
) -> ActiveAction:
    """What an analyst's override of ``account_id`` stores (``policy override``, the console):
    it wins over every rule until it runs out; blocks and challenges carry a support reference."""
    return ActiveAction(
        action=action,
        until=now + seconds,
        reasons=(f"manual override: {reason}",),
        reference_id=reference_id(account_id, f"override-{now}")
        if action in (Action.BLOCK, Action.CHALLENGE)
        else None,
        retry_after=retry_after if action is Action.THROTTLE else None,
        source="override",
        set_at=now,
    )
