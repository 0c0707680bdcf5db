"""Sensitive rewrites: asking for 'safe' alternatives to politically sensitive questions.

Public reports describe campaigns that have a frontier model rewrite politically sensitive
questions into censorship-compliant alternatives, to build training data for a model that
must avoid those topics. A rewrite request alone is ordinary editing and a sensitive topic
alone is ordinary curiosity; the flag needs both (or an unambiguous phrase such as
"censorship-compliant").
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from distillwatch.signals.base import PatternSignal
from distillwatch.signals.patterns import alternation
from distillwatch.signals.patterns import sensitive as phrases
from distillwatch.signals.view import PromptView


class SensitiveRewriteSignal(PatternSignal):
    """``sensitive_rewrite``: strong phrase, or (rewrite request and sensitive subject)."""

    name: ClassVar[str] = "sensitive"
    column: ClassVar[str] = "sensitive_rewrite"
    outputs: ClassVar[dict[str, pa.DataType]] = {"sensitive_rewrite": pa.bool_()}
    patterns: ClassVar[tuple[str, ...]] = (alternation(phrases.STRONG),)
    rewrite: ClassVar[str] = alternation(phrases.REWRITE)
    subject: ClassVar[str] = alternation(phrases.SENSITIVE)

    def match_patterns(self) -> tuple[str, ...]:
        return (*self.patterns, self.rewrite, self.subject)

    def refine(self, view: PromptView, hit: np.ndarray) -> np.ndarray:
        if hit.all():
            return hit
        both = view.matches(self.rewrite)
        if both.any():
            both &= view.matches(self.subject)
        return hit | both
