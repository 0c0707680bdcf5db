"""Grading requests: does the prompt ask the model to judge, score or rank answers?

Reward-model harvesting sends candidate answers with a rubric and keeps the model's verdicts
to train a reward model or to filter a student's outputs. The signal looks for the *act* of
judging a candidate (verb + answer-like object, scales, pairwise A/B structure, judge
personas) in several languages, not for any one benchmark's judge template.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from distillwatch.signals.base import PatternSignal
from distillwatch.signals.patterns import grading as phrases
from distillwatch.signals.patterns import passes


class GradingSignal(PatternSignal):
    """``grading_request``: any judge / reward-model phrase matches."""

    name: ClassVar[str] = "grading"
    column: ClassVar[str] = "grading_request"
    outputs: ClassVar[dict[str, pa.DataType]] = {"grading_request": pa.bool_()}
    patterns: ClassVar[tuple[str, ...]] = passes(phrases.STRONG, phrases.STRONG_APART)
