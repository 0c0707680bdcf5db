"""Harvest structure: the shape of collecting a training set, which no product has.

Each part of it has an honest twin -- judges grade, tutors ask for steps, evaluation runs
sweep every area, apps wrap tasks in fixed instructions, batch jobs are single-shot -- so each
part alone is ``SHARED`` evidence (its own check says so). This check asks for all of them at
once, together with the absence of what products have: one elicitation technique on nearly
every request, over many unrelated capability areas, single-shot, with no system prompt
(products set one), not replayed across models (evaluation runs compare models on the same
items) and not one fixed template (batch jobs and judge services render one). Attackers can
imitate a product (a persona system prompt, a fixed rubric); the score and the other kinds
of evidence are there for that. Even all of it together is what a tutoring app without a
system prompt sends, so it is shared evidence: it raises the score, it never flags alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Basis, Finding, Severity


@dataclass(frozen=True)
class HarvestStructure(Finding):
    description: ClassVar[str] = (
        "Single-shot elicitation over unrelated capability areas with no product context"
    )
    severity: ClassVar[Severity] = Severity.HIGH
    tactic: ClassVar[str | None] = "capability_sweep"
    # Shared, not HARVEST: on heldout draws 3-5 (looked at, so no longer untouched: the
    # benchmark reports other draws), tutoring apps without a system prompt and with few
    # follow-ups showed exactly this shape (17 of 142 flagged). Every per-account content
    # shape tried so far has such an honest twin.
    basis: ClassVar[Basis] = Basis.SHARED
    technique: str
    share: float
    capabilities: int
    system_share: float

    def __str__(self) -> str:
        return (
            f"{self.share:.0%} of single-shot prompts use {self.technique} across "
            f"{self.capabilities} capability areas, {self.system_share:.0%} with a system "
            "prompt and none compared across models: harvest structure"
        )


def elicitation(account: Account) -> tuple[str, float]:
    """The account's dominant elicitation technique and the share of requests using it.

    Left out on purpose, because the features cannot tell the product from a harvest: grading
    asks (LLM-as-judge services grade single-shot over every area, often with no system
    prompt), fixed instruction wrappers (prompt-library apps and batch jobs wrap every task),
    tool definitions without results (apps use function calling for structured output) and
    logprobs with several samples (researchers sample benchmark answers)."""
    multilingual = 0.0
    if num(account, "languages") >= 5 and num(account, "language_entropy") >= 1.5:
        multilingual = 1.0 - num(account, "language_top_share", 1.0)
    shares = {
        "step-by-step reasoning asks": num(account, "cot_share"),
        "many languages": multilingual,
        "rewrites of sensitive questions": num(account, "sensitive_share"),
    }
    name = max(shares, key=lambda k: shares[k])
    return name, shares[name]


class HarvestStructureCheck(AccountCheck):
    min_requests = 100
    single_turn = 0.9
    capabilities = 5
    entropy = 1.8
    top_share = 0.6
    elicitation_share = 0.5
    #: above this share of requests with a system prompt, the account is a product
    system_share = 0.2
    #: above this share of prompts sent to two models or more, it is a comparison run
    replayed_share = 0.5
    #: below this many distinct templates per request, one template carries the traffic
    template_ratio = 0.2

    def score_one(self, account: Account) -> list[Finding]:
        requests = num(account, "requests")
        if (
            1.0 - num(account, "multi_turn_share") < self.single_turn
            or num(account, "capabilities") < self.capabilities
            or num(account, "capability_entropy") < self.entropy
            or num(account, "capability_top_share", 1.0) >= self.top_share
            or num(account, "system_share") >= self.system_share
            or num(account, "replayed_share") >= self.replayed_share
            or num(account, "templates") / max(requests, 1.0) < self.template_ratio
        ):
            return []
        technique, share = elicitation(account)
        if share < self.elicitation_share:
            return []
        return [
            HarvestStructure(
                technique=technique,
                share=share,
                capabilities=int(num(account, "capabilities")),
                system_share=num(account, "system_share"),
            )
        ]
