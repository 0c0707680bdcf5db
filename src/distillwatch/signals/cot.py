"""Chain-of-thought elicitation: does the prompt ask the model to show its reasoning?

Distillation campaigns harvest reasoning traces ("articulate the internal reasoning behind
this completed response, step by step") because a student model learns far more from them
than from bare answers. Honest users ask for reasoning too, so this is a per-request fact
whose *share* across an account or cluster matters, not a verdict.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from distillwatch.signals.base import PatternSignal
from distillwatch.signals.patterns import alternation, passes
from distillwatch.signals.patterns import cot as phrases
from distillwatch.signals.view import PromptView


class CotSignal(PatternSignal):
    """``cot_elicit``: strong CoT phrases, or a bare "step by step" that is not a how-to."""

    name: ClassVar[str] = "cot"
    column: ClassVar[str] = "cot_elicit"
    outputs: ClassVar[dict[str, pa.DataType]] = {"cot_elicit": pa.bool_()}
    patterns: ClassVar[tuple[str, ...]] = passes(phrases.STRONG, phrases.STRONG_APART)
    weak: ClassVar[str] = alternation(phrases.WEAK)
    howto: ClassVar[str] = alternation(phrases.HOWTO)

    def match_patterns(self) -> tuple[str, ...]:
        return (*self.patterns, self.weak, self.howto)

    def refine(self, view: PromptView, hit: np.ndarray) -> np.ndarray:
        rest = ~hit
        if not rest.any():
            return hit
        weak = view.matches(self.weak)
        candidates = rest & weak
        if candidates.any():
            hit = hit | (candidates & ~view.matches(self.howto))
        return hit
