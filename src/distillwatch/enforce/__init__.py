"""The act stage: policy, decisions and enforcement state (see ``docs/gateway.md``).

``decide`` is pure; the stores (memory, Redis) hold what must outlive a request; the
``Enforcer`` strings them together for the gateway, the ASGI middleware and LiteLLM.
"""

from distillwatch.enforce.assessment import Assessment, Assessor, IndicatorMatch, IndicatorMatcher
from distillwatch.enforce.decide import decide
from distillwatch.enforce.decision import (
    EMPTY_STATE,
    Action,
    ActiveAction,
    BucketResult,
    Decision,
    EnforcementState,
)
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.enforce.policy import ClusterLimit, Policy, PolicyError, Rule, load_policy
from distillwatch.enforce.store import EnforcementStore, MemoryStore, StoreUnavailable

__all__ = [
    "EMPTY_STATE",
    "Action",
    "ActiveAction",
    "Assessment",
    "Assessor",
    "BucketResult",
    "ClusterLimit",
    "Decision",
    "EnforcementState",
    "EnforcementStore",
    "Enforcer",
    "IndicatorMatch",
    "IndicatorMatcher",
    "MemoryStore",
    "Policy",
    "PolicyError",
    "Rule",
    "StoreUnavailable",
    "decide",
    "load_policy",
]
