"""The open setting of the neural radioactivity benchmark: reading a suspect's weights.

``read`` feeds the served answers to a student and keeps its top-1 prediction after each
window that is new in its text (Sander et al.'s "reading mode"); ``tuple_corpus`` turns those
rows into a corpus the project's ``radioactivity`` scores one tuple at a time; ``green_mass``
is the diagnostic on the student's whole next-token distribution. Used by
``bench_radioactivity_neural.py`` and ``tests/test_watermark_radioactive_neural.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from distillwatch.watermark import TokenCorpus
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import vocab_uniforms, window_fingerprints


@torch.no_grad()
def read(
    model: torch.nn.Module,
    texts: list[np.ndarray],
    window: int,
    vocab: int,
    first_only: bool = True,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Open setting: feed ``texts`` (equal lengths) to the model.

    Only a position whose window is new in its text counts: nothing in its context was then
    chosen with that window's list, so an innocent model's prediction is independent of it
    and the exact tests hold (a model that copies what followed an earlier occurrence would
    otherwise copy a token the key chose). Returns, per text, the ``(window, top-1
    prediction)`` rows at those positions; for window 1 also the model's next-token
    distributions there summed per window (``(vocab, vocab)``, for ``green_mass``).
    ``first_only=False`` keeps every position: invalid, for the test that shows it.
    """
    seqs = np.stack(texts).astype(np.int64)
    rows: list[np.ndarray] = []
    mass = np.zeros((vocab, vocab)) if window == 1 else None
    for i in range(0, seqs.shape[0], 32):
        ids = torch.from_numpy(seqs[i : i + 32])
        # output j predicts token window + j, whose window is tokens j .. j + window - 1
        logits = model(input_ids=ids).logits[:, window - 1 : -1].float()
        top = logits.argmax(dim=-1).numpy()
        probs = torch.softmax(logits, dim=-1).numpy() if mass is not None else None
        for b, seq in enumerate(seqs[i : i + 32]):
            wins = np.lib.stride_tricks.sliding_window_view(seq[:-1], window)
            _, first = np.unique(window_fingerprints(wins), return_index=True)
            scored = first if first_only else np.arange(wins.shape[0])
            rows.append(np.column_stack([wins[scored], top[b, scored]]))
            if mass is not None and probs is not None:
                mass[wins[first, 0]] += probs[b, first]  # distinct windows: no repeats
    return rows, mass


def tuple_corpus(rows: list[np.ndarray]) -> TokenCorpus:
    """Each (window, prediction) row as its own short document: exactly one tuple each."""
    flat = np.concatenate(rows) if rows else np.zeros((0, 2), dtype=np.int64)
    width = flat.shape[1]
    return TokenCorpus(
        flat.ravel().astype(np.int64), np.arange(0, flat.size, width, dtype=np.int64)
    )


def green_mass(mass: np.ndarray, key: WatermarkKey) -> tuple[float, float]:
    """The student's mass on the mark beyond its null mean, and its z-score (window 1).

    Per window the green bits (KGW) or ``-log(1-u) - 1`` (Gumbel) of every token are fresh
    under the null and independent of the summed distributions ``Q`` (no position's context
    held a token chosen with that window's list), so ``S = sum Q (score - mean)`` has mean 0
    and variance ``var * sum Q**2`` over independent windows: a normal approximation, fine
    near the centre, rough far in the tail.
    """
    used = np.flatnonzero(mass.sum(axis=1))
    q = mass[used]
    u = vocab_uniforms(used[:, None], key.material, mass.shape[1])
    if key.scheme.name == "kgw":
        gamma = key.scheme.gamma
        score, var = (u < gamma) - gamma, gamma * (1 - gamma)
    else:
        score, var = -np.log1p(-u) - 1.0, 1.0
    total = float((q * score).sum())
    return total / float(q.sum()), total / float(np.sqrt(var * (q**2).sum()))
