"""Radioactivity: was a suspect model trained on our watermarked answers?

Method of Sander et al., "Watermarking Makes Language Models Radioactive" (NeurIPS 2024),
closed-model setting: sample text from the suspect model, then score it with the watermark
detector under three rules that keep the p-value valid when the suspect is innocent:

* **de-duplication** — each (window, token) tuple is scored once. A model repeats its
  favourite n-grams thousands of times; without this the scores are not independent and
  p-values of clean models collapse towards 0.
* **filter** (optional, "supervised") — keep only tuples whose *window* occurs in text we
  know we marked and served to the suspected accounts. The student learned the bias on
  those contexts, so the signal concentrates there. Filtering on the window alone, not on
  (window, token), keeps validity: whether a window occurs in our output was decided before
  the token that follows it was hashed, so under the null the following token's green bit
  is still a fresh coin.
* **prompt exclusion** — tuples that occur in the prompts given to the suspect are dropped:
  if prompts contain our marked text, a clean model copying them would look marked.
* **background exclusion** (optional) — tuples that occur in public text are dropped too.
  Every model emits the common n-grams of its language; scored under one key, they make
  the results of different innocent suspects move together (their z-scores correlated at
  0.32 across keys). Left out, each suspect is tested on what is more its own.
* **other suspects** (optional) — when several models are tested under the same keys,
  tuples a suspect shares with another suspect's sample are dropped, as ``documents`` does
  for the documents of a set: the suspects are then scored on disjoint tuples, and their
  results are independent under the null for every key. (Two guilty suspects lose the
  marked tuples they share; each keeps the rest.)

The statistics are the schemes' exact tests (binomial / Gamma); several keys are corrected
with Holm, as for plain detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from distillwatch.watermark.detect import Detection, detect
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.tokens import TokenCorpus


@dataclass(frozen=True)
class Radioactivity:
    """The detection result plus what the filters kept."""

    detection: Detection
    filtered: bool
    prompts_excluded: bool
    background_excluded: bool = False
    other_suspects: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            **self.detection.to_dict(),
            "filtered_on_watermarked_contexts": self.filtered,
            "prompt_tuples_excluded": self.prompts_excluded,
            "background_tuples_excluded": self.background_excluded,
            "other_suspects_excluded": self.other_suspects,
        }


def radioactivity(
    suspect_text: TokenCorpus,
    keys: Sequence[WatermarkKey],
    watermarked: TokenCorpus | None = None,
    prompts: TokenCorpus | None = None,
    background: TokenCorpus | None = None,
    others: Sequence[TokenCorpus] = (),
) -> Radioactivity:
    """Test text sampled from a suspect model for the residue of our keys' marks."""
    parts = [c for c in (prompts, background, *others) if c is not None]
    exclude = TokenCorpus.of([s for c in parts for s in c.sequences()]) if parts else None
    result = detect(suspect_text, keys, contexts=watermarked, exclude=exclude)
    return Radioactivity(
        result, watermarked is not None, prompts is not None, background is not None, len(others)
    )
