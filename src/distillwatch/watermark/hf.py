"""Hugging Face ``transformers`` logits processors for both schemes.

    from distillwatch.watermark.hf import WatermarkLogitsProcessor
    model.generate(ids, logits_processor=[WatermarkLogitsProcessor(key)], do_sample=True)

The processor hands the step's logits to the NumPy reference (``reference.mark_logits``),
so generation and detection share one implementation of the keyed PRF and the tests that
check the reference check this too. Moving a ``(batch, vocab)`` slice to the CPU each step
costs little next to a forward pass. ``transformers`` runs custom processors *before*
temperature and top-k/top-p: with ``temperature=T`` the KGW bias acts as ``delta / T``; the
Gumbel processor takes the temperature itself and leaves one finite logit, so any decoding
mode (greedy or sampling) then emits the chosen token.

Only this module imports torch; ``distillwatch.watermark`` does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import LogitsProcessor

from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.reference import mark_logits


class WatermarkLogitsProcessor(LogitsProcessor):
    """Marks every row with its key: one key for the batch, or one per row (per account)."""

    def __init__(
        self, keys: WatermarkKey | Sequence[WatermarkKey], temperature: float = 1.0
    ) -> None:
        self.keys = keys
        self.temperature = temperature

    def _row_keys(self, rows: int) -> list[WatermarkKey]:
        if isinstance(self.keys, WatermarkKey):
            return [self.keys] * rows
        if len(self.keys) != rows:
            raise ValueError(f"{len(self.keys)} watermark keys for a batch of {rows} rows")
        return list(self.keys)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        ids = input_ids.detach().cpu().numpy().astype(np.int64)
        logits = scores.detach().float().cpu().numpy().astype(np.float64)
        row_keys = self._row_keys(ids.shape[0])
        out = logits.copy()
        for label in dict.fromkeys(k.label for k in row_keys):
            rows = [i for i, k in enumerate(row_keys) if k.label == label]
            key = row_keys[rows[0]]
            marked = mark_logits(logits[rows], list(ids[rows]), key, self.temperature)
            out[rows] = marked
        return torch.from_numpy(out).to(device=scores.device, dtype=scores.dtype)
