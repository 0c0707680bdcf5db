"""The neural radioactivity benchmark's students: sizes, and fine-tuning on a marked share.

A student is a copy of a GPT-2 base (pre-trained on other human text) fine-tuned on a
fixed-size mix of a ``share`` of served answers and human text (``finetune``). Needs
``scripts/`` on ``sys.path`` (``watermark_lm``, ``watermark_experiment``), as
``bench_radioactivity_neural.py`` sets it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import watermark_lm as lm
from watermark_experiment import PROMPT_LEN

from distillwatch.watermark import TokenCorpus


@dataclass(frozen=True)
class Sizes:
    teacher_tokens: int = 1_200_000  # teacher training (tokens seen)
    base_tokens: int = 800_000  # the student's pre-training on other human text
    answers: int = 1_700  # served answers per kind, PROMPT_LEN + answer_new tokens each
    answer_new: int = 200
    finetune: int = 360_000  # tokens in every student's fine-tuning set
    epochs: float = 3.0
    batch: int = 8  # fine-tuning blocks of 128 tokens per step: more updates per CPU-second
    samples: int = 1_500  # closed setting: student samples ...
    sample_new: int = 128  # ... of this many new tokens
    null_keys: int = 200
    width: int = 128  # student size (the teacher is 2 x 128)
    layers: int = 2


QUICK = Sizes(100_000, 60_000, 240, 120, 30_000, 2.0, 8, 160, 64, 40)


@dataclass
class Student:
    name: str
    schemes: tuple[str, ...]  # keys it is tested under
    share: float
    marked_tokens: int  # marked tokens in its fine-tuning set (seen ``epochs`` times)
    model: torch.nn.Module
    text: TokenCorpus | None = None  # closed setting: its samples, re-tokenised


def with_answers(prompts: list[np.ndarray], answers: list[np.ndarray]) -> list[np.ndarray]:
    return [np.concatenate([p, a]) for p, a in zip(prompts, answers, strict=True)]


def finetune(
    base: torch.nn.Module,
    human: torch.Tensor,
    served: list[np.ndarray],
    share: float,
    sz: Sizes,
    seed: int,
    label: str,
) -> tuple[torch.nn.Module, int]:
    """A copy of the base fine-tuned on ``share`` served answers + human text (fixed size)."""
    n = round(share * sz.finetune / (PROMPT_LEN + sz.answer_new))
    if n > len(served):
        raise SystemExit(f"{label}: needs {n} served answers, only {len(served)} were generated")
    marked = lm.blocks(served[:n], 128) if n else human[:0]
    keep = max(0, sz.finetune // 128 - marked.shape[0])
    if keep > human.shape[0]:
        raise SystemExit(f"{label}: needs {keep} blocks of human text, has {human.shape[0]}")
    data = torch.cat([human[:keep], marked])
    model = copy.deepcopy(base)
    lm.train(model, data, int(sz.epochs * data.numel()), seed, sz.batch, lr=1e-3, label=label)
    return model, int(marked.numel())
