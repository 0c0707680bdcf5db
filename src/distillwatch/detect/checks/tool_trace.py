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


class ToolTraceCheck(AccountCheck):
    """An agent runs loops (call, result, call); a harvester only wants the first call."""

    min_requests = 50
    tools_share = 0.5
    tool_results_mean = 0.2
    multi_turn_share = 0.1

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "tools_share")
        if (
            share < self.tools_share
            or num(account, "tool_results_mean") >= self.tool_results_mean
            or num(account, "multi_turn_share") >= self.multi_turn_share
        ):
            return []
        return [ToolTraceHarvesting(share, int(num(account, "system_prompts")))]
