"""The enforcement step of one request: assess, load state, decide, remember.

Shared by the HTTP gateway, the ASGI middleware and the LiteLLM guardrail, so all three
apply the same policy the same way. The only I/O is the store; when the store is
unreachable the configured mode applies:

* ``open`` — decide from the assessment alone (no overrides, sticky actions or cluster
  budget), so rules on the score still hold but nobody is refused for the outage;
* ``closed`` — refuse every request (source ``unavailable``; the gateway answers 503).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from distillwatch.enforce.assessment import Assessment, Assessor, IndicatorMatcher, as_matches
from distillwatch.enforce.decide import decide
from distillwatch.enforce.decision import EMPTY_STATE, Action, Decision
from distillwatch.enforce.policy import Policy
from distillwatch.enforce.store import EnforcementStore, StoreUnavailable

log = logging.getLogger("distillwatch.enforce")

FailMode = Literal["open", "closed"]

#: Called with each decision that changes an account's action, and the request's record.
OnChange = Callable[[Decision, Mapping[str, Any]], None]


class Enforcer:
    def __init__(
        self,
        policy: Policy,
        assessor: Assessor,
        store: EnforcementStore,
        fail_mode: FailMode = "open",
        matcher: IndicatorMatcher | None = None,
        on_change: OnChange | None = None,
        clock: Callable[[], float] = time.time,
        strict: bool = False,
    ) -> None:
        """``strict``: let an assessor's exception propagate (replay, tests) instead of
        logging it and deciding without the assessment (a serving gateway)."""
        if fail_mode not in ("open", "closed"):
            raise ValueError(f"fail mode must be 'open' or 'closed', got {fail_mode!r}")
        self.policy = policy
        self.assessor = assessor
        self.store = store
        self.fail_mode = fail_mode
        self.matcher = matcher
        self.on_change = on_change
        self.clock = clock
        self.strict = strict
        #: False while the store is unreachable (the gateway exports it as a metric).
        self.store_up = True
        self.store_errors = 0
        self.assess_errors = 0

    async def check(self, record: Mapping[str, Any], cluster_id: str | None = None) -> Decision:
        """The decision for one request (a traffic log v1 record without its response).

        ``cluster_id`` is a cluster the caller knows the account belongs to (the gateway's
        keys file); it applies when the assessor links the account to none.
        """
        now = self.clock()
        try:
            assessment = self.assess(record)
        except Exception:  # an engine bug must not take the API down with it
            if self.strict:
                raise
            self.assess_errors += 1
            if self.assess_errors == 1 or self.assess_errors % 1000 == 0:
                log.exception("assessor failed (%d times); deciding without it", self.assess_errors)
            assessment = Assessment(str(record.get("account_id", "")))
        if assessment.cluster_id is None and cluster_id is not None:
            assessment = dataclasses.replace(assessment, cluster_id=cluster_id)
        limit = self.policy.cluster_limit
        if limit is not None and assessment.cluster_score < limit.min_cluster_score:
            limit = None
        try:
            state = await self.store.load(assessment.account_id, assessment.cluster_id, now, limit)
        except StoreUnavailable as exc:
            self._down(exc)
            if self.fail_mode == "closed":
                return _unavailable(assessment)
            state = EMPTY_STATE
        else:
            self._up()
        request_id = str(record.get("request_id", ""))
        decision = decide(self.policy, assessment, state, now, request_id)
        if state is EMPTY_STATE and not self.store_up:
            decision = dataclasses.replace(
                decision, reasons=(*decision.reasons, "enforcement state unavailable (fail-open)")
            )
        if decision.changed or decision.sticky_until is not None:
            await self._remember(decision, now, record)
        return decision

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        assessment = self.assessor.assess(record)
        if self.matcher is not None:
            found = [
                i for i in as_matches(self.matcher.match(record)) if i not in assessment.indicators
            ]
            if found:
                merged = (*assessment.indicators, *found)
                assessment = dataclasses.replace(assessment, indicators=merged)
        return assessment

    async def _remember(self, decision: Decision, now: float, record: Mapping[str, Any]) -> None:
        audit = None
        if decision.changed:
            audit = decision.to_record(str(record.get("ts", "")), str(record.get("request_id", "")))
        if self.store_up:
            try:
                await self.store.save(decision, now, audit)
            except StoreUnavailable as exc:
                self._down(exc)
        if decision.changed and self.on_change is not None:
            self.on_change(decision, record)

    def _down(self, exc: Exception) -> None:
        self.store_errors += 1
        if self.store_up:
            log.warning("enforcement state unavailable, failing %s: %s", self.fail_mode, exc)
        self.store_up = False

    def _up(self) -> None:
        if not self.store_up:
            log.warning("enforcement state available again")
        self.store_up = True


def _unavailable(assessment: Assessment) -> Decision:
    return Decision(
        action=Action.BLOCK,
        account_id=assessment.account_id,
        cluster_id=assessment.cluster_id,
        reasons=("enforcement state unavailable (fail-closed)",),
        source="unavailable",
    )
