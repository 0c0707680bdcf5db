"""Hugging Face ``transformers`` logits processors for both schemes.

    from distillwatch.watermark.hf import generate_marked
    out = generate_marked(model, ids, keys, do_sample=True, top_k=40, temperature=0.8)

The processor hands the step's logits to the NumPy reference (``reference.mark_logits``),
so generation and detection share one implementation of the keyed PRF and the tests that
check the reference check this too. Moving a ``(batch, vocab)`` slice to the CPU each step
costs little next to a forward pass.

``transformers`` runs custom processors *before* its own temperature, top-k and top-p
warpers. The Gumbel scheme is the sampler itself, so it must see the distribution after
them: the processor therefore applies ``temperature``, ``top_k`` and ``top_p`` itself, to
every row, and ``generate`` must not apply them again. ``generate_marked`` does that
hand-over — it takes the settings from the call or the model's generation config, gives
them to the processor and switches ``generate``'s own warpers off. (Passing the processor
to ``generate`` directly with its default settings still works when ``generate`` does no
top-k/top-p and temperature 1 — e.g. ``top_k=0``.)

Only this module imports torch; ``distillwatch.watermark`` does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.reference import mark_logits
from distillwatch.watermark.warp import Sampling

#: ``transformers``' own top-k when neither the call nor the model's config sets one
TRANSFORMERS_DEFAULT_TOP_K = 50
#: warpers the processor cannot apply before its choice: refused rather than ignored
UNSUPPORTED = ("min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "top_h")


class WatermarkLogitsProcessor(LogitsProcessor):
    """Marks every row with its key: one key for the batch, or one per row (per account).

    ``temperature``, ``top_k`` and ``top_p`` are applied here, before the mark's choice;
    use ``generate_marked`` (or turn ``generate``'s own warpers off) so they apply once.
    """

    def __init__(
        self,
        keys: WatermarkKey | Sequence[WatermarkKey],
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float = 1.0,
    ) -> None:
        self.keys = keys
        self.sampling = Sampling(temperature, top_k, top_p)

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
            out[rows] = mark_logits(logits[rows], list(ids[rows]), key, self.sampling)
        return torch.from_numpy(out).to(device=scores.device, dtype=scores.dtype)


def sampling_of(model: Any, kwargs: dict[str, Any]) -> Sampling:
    """The temperature, top-k and top-p ``generate`` would use for this call."""
    config = getattr(model, "generation_config", None)

    def setting(name: str) -> Any:
        return kwargs[name] if name in kwargs else getattr(config, name, None)

    for name in UNSUPPORTED:
        value = setting(name)
        if value is not None and value not in (0.0, 1.0):
            raise ValueError(f"{name}={value} is not supported with a watermark; leave it unset")
    temperature = setting("temperature")
    top_k = setting("top_k")
    top_p = setting("top_p")
    return Sampling(
        temperature=1.0 if temperature is None else float(temperature),
        top_k=TRANSFORMERS_DEFAULT_TOP_K if top_k is None else int(top_k),
        top_p=1.0 if top_p is None else float(top_p),
    )


def generate_marked(
    model: Any, input_ids: torch.Tensor, keys: WatermarkKey | Sequence[WatermarkKey], **kwargs: Any
) -> Any:
    """``model.generate`` with the mark applied after temperature, top-k and top-p.

    The settings come from ``kwargs`` or the model's generation config (as ``generate``
    would resolve them); the processor applies them, and ``generate``'s own copies are
    neutralised so nothing is applied twice.
    """
    sampling = sampling_of(model, kwargs)
    processor = WatermarkLogitsProcessor(keys, sampling.temperature, sampling.top_k, sampling.top_p)
    others = kwargs.pop("logits_processor", None) or []
    processors = LogitsProcessorList([*others, processor])
    kwargs.update(temperature=1.0, top_k=0, top_p=1.0)
    return model.generate(input_ids, logits_processor=processors, **kwargs)
