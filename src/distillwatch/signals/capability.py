"""Capability area of the prompt (reasoning, coding, translation, tool use, safety, ...).

Distillation campaigns sweep capabilities systematically; honest traffic is lopsided (a
coding agent codes, a translation app translates). The per-request label feeds coverage and
entropy features per account and per cluster.

The classifier is a linear model over hashed features computed without Python loops: word
unigrams and bigrams of the shared tokens (CJK characters are tokens), plus one feature per
matching cue list (``patterns/capability.py``). Weights are trained by
``scripts/train_signals.py`` and shipped as ``distillwatch/data/capability_model.npz``
(float16, loaded once via ``importlib.resources``). Requests that carry tool definitions or
tool results are labelled ``tool_use`` whatever the text says.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import ClassVar

import numpy as np
import pyarrow as pa

from distillwatch.signals import text
from distillwatch.signals.base import RequestSignal, get_column
from distillwatch.signals.patterns import alternation
from distillwatch.signals.patterns.capability import CUES
from distillwatch.signals.sketch import view_shingles
from distillwatch.signals.text import mix64, text_hash
from distillwatch.signals.view import PromptView

CAPABILITIES: tuple[str, ...] = (
    "reasoning",
    "coding",
    "translation",
    "tool_use",
    "safety",
    "creative",
    "knowledge",
    "summarization",
    "grading",
    "chat",
)
N_BUCKETS = 1 << 17
MODEL_FILE = "capability_model.npz"
_CUE_PATTERNS = {name: alternation(cues) for name, cues in CUES.items()}
_CUE_HASH = {name: text_hash(f"\x00cue:{name}") for name in CUES}
_CUE_HASHES = np.array([_CUE_HASH[name] for name in CUES], dtype=np.uint64)
_BIGRAM_SALT = np.uint64(0x5851F42D4C957F2D)


@dataclass(frozen=True)
class Features:
    """Sparse hashed features: bucket ids and the row (unique prompt) each belongs to."""

    buckets: np.ndarray  # int64
    rows: np.ndarray  # int64, sorted
    n_rows: int

    @property
    def scale(self) -> np.ndarray:
        """Per-row 1/sqrt(n features): long prompts do not get larger logits."""
        n = np.bincount(self.rows, minlength=self.n_rows)
        return 1.0 / np.sqrt(np.maximum(n, 1))


def features(view: PromptView, grading: np.ndarray | None = None) -> Features:
    """Hashed unigram + bigram + cue features of every unique prompt in ``view``."""
    tok = view.tokens
    bigrams, offsets = view_shingles(view)
    bigram_rows = np.repeat(np.arange(view.n_unique), np.diff(offsets))
    cue_h, cue_r = [], []
    for name, pattern in _CUE_PATTERNS.items():
        hit = np.flatnonzero(view.matches(pattern))
        cue_h.append(np.full(len(hit), _CUE_HASH[name], dtype=np.uint64))
        cue_r.append(hit)
    hashes = np.concatenate([tok.hashes, bigrams ^ _BIGRAM_SALT, *cue_h])
    rows = np.concatenate([tok.row, bigram_rows, *cue_r])
    order = np.argsort(rows, kind="stable")
    buckets = (mix64(hashes) % np.uint64(N_BUCKETS)).astype(np.int64)
    return Features(buckets[order], rows[order], view.n_unique)


@dataclass(frozen=True)
class LinearModel:
    """Multinomial linear model over hashed buckets (immutable once loaded)."""

    weights: np.ndarray  # (N_BUCKETS, n_classes) float32
    bias: np.ndarray  # (n_classes,) float32

    def logits(self, feats: Features) -> np.ndarray:
        """Bias plus the scaled sum of the weights of every feature, per row.

        The sum is a sparse (rows x buckets) product in C: no (features x classes) array is
        gathered, which at millions of features per batch was most of the model's cost.
        """
        from scipy import sparse  # here: with ``_native.tokens`` built, no scan needs it

        out = np.tile(self.bias, (feats.n_rows, 1)).astype(np.float32)
        if len(feats.buckets):
            per_row = np.bincount(feats.rows, minlength=feats.n_rows)
            indptr = np.concatenate(([0], np.cumsum(per_row)))
            ones = np.ones(len(feats.buckets), dtype=np.float32)
            counts = sparse.csr_matrix(
                (ones, feats.buckets, indptr), shape=(feats.n_rows, self.weights.shape[0])
            )
            sums = np.asarray(counts @ self.weights, dtype=np.float32)
            out += sums * feats.scale[:, None].astype(np.float32)
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, weights=self.weights.astype(np.float16), bias=self.bias)
        return buf.getvalue()


def view_logits(model: LinearModel, view: PromptView) -> np.ndarray:
    """``model.logits(features(view))``: with ``_native.tokens`` built, the sparse product is
    summed straight from the shared token and bigram hashes in one compiled loop, in the
    order the sparse product adds them (the same float32 values), with no feature arrays,
    sort or matrix built."""
    native = text._NATIVE
    if native is None:
        return model.logits(features(view))
    n = view.n_unique
    tok = view.tokens
    bigrams, offsets = view_shingles(view)
    cues = np.zeros((n, len(_CUE_PATTERNS)), dtype=np.uint8)
    for j, pattern in enumerate(_CUE_PATTERNS.values()):
        cues[:, j] = view.matches(pattern)
    sums, counts = native.hashed_sums(
        model.weights,
        np.ascontiguousarray(tok.hashes),
        np.ascontiguousarray(tok.offsets, np.int64),
        np.ascontiguousarray(bigrams, np.uint64),
        np.ascontiguousarray(offsets, np.int64),
        int(_BIGRAM_SALT),
        cues,
        _CUE_HASHES,
    )
    out = np.tile(model.bias, (n, 1)).astype(np.float32)
    if counts.any():
        scale = 1.0 / np.sqrt(np.maximum(counts, 1))
        out += sums * scale[:, None].astype(np.float32)
    return out


@cache
def load_model() -> LinearModel | None:
    """The packaged model, or None if it has not been trained yet (cue rules are used)."""
    res = resources.files("distillwatch").joinpath("data", MODEL_FILE)
    if not res.is_file():
        return None
    with res.open("rb") as fh, np.load(fh) as z:
        weights = np.ascontiguousarray(z["weights"], dtype=np.float32)  # rows read whole
        return LinearModel(weights, z["bias"].astype(np.float32))


def _cue_logits(view: PromptView) -> np.ndarray:
    """Fallback without a model: one vote per matching cue list, chat by default."""
    out = np.zeros((view.n_unique, len(CAPABILITIES)), dtype=np.float32)
    out[:, CAPABILITIES.index("chat")] = 0.5
    for name, pattern in _CUE_PATTERNS.items():
        out[:, CAPABILITIES.index(name)] += view.matches(pattern)
    return out * 3.0


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class CapabilitySignal(RequestSignal):
    """``capability`` (one of :data:`CAPABILITIES`) and ``capability_conf`` (its probability)."""

    name: ClassVar[str] = "capability"
    inputs: ClassVar[tuple[str, ...]] = ("last_user", "n_tools", "n_tool_results")
    outputs: ClassVar[dict[str, pa.DataType]] = {
        "capability": pa.string(),
        "capability_conf": pa.float32(),
    }

    def match_patterns(self) -> tuple[str, ...]:
        return tuple(_CUE_PATTERNS.values())

    def predict(self, view: PromptView) -> tuple[np.ndarray, np.ndarray]:
        """(class index, probability) per unique prompt, from the text alone."""
        model = load_model()
        logits = view_logits(model, view) if model is not None else _cue_logits(view)
        prob = softmax(logits)
        best = prob.argmax(axis=1)
        return best, prob[np.arange(len(best)), best].astype(np.float32)

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        best, conf = self.predict(view)
        return {"capability": pa.array(best, pa.int8()), "capability_conf": pa.array(conf)}

    def per_row(
        self, batch: pa.RecordBatch, view: PromptView, prompts: Mapping[str, pa.Array]
    ) -> dict[str, pa.Array]:
        index = view.index.to_numpy(zero_copy_only=False)
        best = prompts["capability"].to_numpy(zero_copy_only=False)[index]
        conf = prompts["capability_conf"].to_numpy(zero_copy_only=False)[index]
        tools = (get_column(batch, "n_tools", 0, pa.int32()) > 0) | (
            get_column(batch, "n_tool_results", 0, pa.int32()) > 0
        )
        best = np.where(tools, CAPABILITIES.index("tool_use"), best)
        conf = np.where(tools, np.maximum(conf, np.float32(0.9)), conf).astype(np.float32)
        labels = pa.array(np.array(CAPABILITIES, dtype=object)[best], pa.string())
        return {"capability": labels, "capability_conf": pa.array(conf, pa.float32())}
