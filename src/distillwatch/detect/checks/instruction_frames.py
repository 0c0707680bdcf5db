"""Wrapped sweeps: a few fixed instruction frames put around a dataset of unrelated tasks.

Harvesters render their prompt dataset through a handful of frames -- "Answer in Italian:",
"Explain your reasoning step by step:", "Rate the following answer:" -- to vary languages,
elicit reasoning or collect grades. An honest application also repeats a frame, but for one
task (a translation app, a batch classifier): its prompts under that frame are one kind of
work. Counting frames that each carry many prompts from unrelated capability areas
separates the two without reading what the frames say, so it holds for frames and
languages no phrase list knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class WrappedSweep(Finding):
    description: ClassVar[str] = "Fixed instruction frames wrapped around unrelated tasks"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "capability_sweep"
    frames: int
    requests: int

    def __str__(self) -> str:
        return (
            f"{self.frames} fixed instruction frames each wrap prompts from unrelated "
            f"capability areas ({self.requests:,} requests)"
        )


@dataclass(frozen=True)
class ManyWrappedSweep(WrappedSweep):
    """Many frames over one task mix: a dataset pushed through every variant it has."""

    severity: ClassVar[Severity] = Severity.HIGH


class InstructionFrameCheck(AccountCheck):
    min_requests = 50
    #: honest accounts in every population studied show at most two such frames
    frames = 4
    many_frames = 5

    def score_one(self, account: Account) -> list[Finding]:
        frames = int(num(account, "wrapper_frames"))
        if frames < self.frames:
            return []
        kind = ManyWrappedSweep if frames >= self.many_frames else WrappedSweep
        return [kind(frames=frames, requests=int(num(account, "wrapper_requests")))]
