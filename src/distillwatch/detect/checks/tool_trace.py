"""Tool-use trace harvesting: tool definitions sent, but the tool results never come back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class ToolTraceHarvesting(Finding):
    description: ClassVar[str] = "Tool definitions in single-shot prompts with no tool results"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "tool_trace_harvesting"
    tools_share: float
    system_prompts: int

    def __str__(self) -> str:
        return (
            f"{self.tools_share:.0%} of requests define tools but never return tool results "
            f"({self.system_prompts} distinct system prompts)"
        )


@dataclass(frozen=True)
class VariedToolTraceHarvesting(ToolTraceHarvesting):
    """Single-shot tool calls over ever-changing prompts: collecting traces, not running an
    app (a function-calling app renders one template)."""

    severity: ClassVar[Severity] = Severity.HIGH


class ToolTraceCheck(AccountCheck):
    """An agent runs loops (call, result, call); a harvester only wants the first call."""

    min_requests = 50
    tools_share = 0.5
    tool_results_mean = 0.2
    multi_turn_share = 0.1
    #: distinct prompt templates per request above which the prompts are a sweep
    varied_templates = 0.5
    varied_min_requests = 50

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "tools_share")
        if (
            share < self.tools_share
            or num(account, "tool_results_mean") >= self.tool_results_mean
            or num(account, "multi_turn_share") >= self.multi_turn_share
        ):
            return []
        requests = num(account, "requests")
        varied = (
            requests >= self.varied_min_requests
            and num(account, "templates") / requests >= self.varied_templates
        )
        kind = VariedToolTraceHarvesting if varied else ToolTraceHarvesting
        return [kind(share, int(num(account, "system_prompts")))]
