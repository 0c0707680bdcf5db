"""Windowed detection: marked spans inside longer, otherwise unmarked documents.

A marked passage quoted inside human text is diluted when the whole document is scored
(100 marked tokens between 150 + 150 unmarked ones: KGW median p = 1e-6). Sliding windows
of several sizes find it and say where it is. Each window's p-value is exact over the
tuples it counts; the windows tried are corrected with Bonferroni over every window and
key, which stays valid however the windows overlap. Windows that pass are merged into
spans (token offsets in the document, end exclusive, counting the scored token).

A tuple counts at its first occurrence in a document, and only in the document the
set-wide rule of ``documents`` gives it to (``shared``), so spans of different documents
are independent under the null as whole documents are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from distillwatch.watermark.documents import (
    I64,
    Shared,
    assigned,
    canonical,
    occurrences,
    p_values,
    split_pairs,
    tuple_weights,
)
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import U64, document_hashes, keyed_uniform
from distillwatch.watermark.tokens import TokenCorpus

#: window sizes in tokens; each slides by a quarter of its size
SIZES = (32, 64, 128, 256)


@dataclass(frozen=True)
class Span:
    """A stretch of one document that carries a key's mark."""

    doc: int
    line: int
    key: str
    account: str | None
    start: int
    end: int
    scored: int
    p_value: float
    #: Bonferroni over every window and key tried
    p_adjusted: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SpanScan:
    windows_tried: int
    min_p_adjusted: float
    spans: tuple[Span, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "windows_tried": self.windows_tried,
            "min_p_adjusted": self.min_p_adjusted,
            "spans": [s.to_dict() for s in self.spans],
        }


def window_bounds(starts: I64, total: int, size: int) -> tuple[I64, I64, I64]:
    """(document, first token, end token) of every window of ``size`` tokens: sliding by
    ``size // 4`` from each document's start, plus one flush with its end."""
    stride = max(1, size // 4)
    lengths = np.diff(np.append(starts, total))
    counts = np.where(lengths >= size, (lengths - size) // stride + 1, 0)
    doc = np.repeat(np.arange(starts.shape[0]), counts)
    step = np.arange(doc.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    first = starts[doc] + step * stride
    tail = np.flatnonzero(lengths >= size)
    doc = np.concatenate([doc, tail])
    first = np.concatenate([first, starts[tail] + lengths[tail] - size])
    return doc, first, first + size


def counted(
    corpus: TokenCorpus, window: int, shared: Shared, exclude: U64 | None
) -> tuple[I64, U64]:
    """(position, fingerprint) of the tuples that count: the first occurrence in their
    document, of tuples ``split_pairs`` gives to that document."""
    canon = canonical(document_hashes(corpus.ids, corpus.starts))
    fps, docs, pos = occurrences(corpus, window, canon, exclude)
    order = np.lexsort((pos, fps, docs))
    f, d = fps[order], docs[order]
    first = np.ones(f.shape[0], dtype=bool)
    first[1:] = (f[1:] != f[:-1]) | (d[1:] != d[:-1])
    keep = order[first]
    if shared != "keep":
        _, kept, owner = split_pairs(fps, docs, shared)
        keep = keep[assigned(kept, owner, fps[keep], docs[keep])]
    return pos[keep], fps[keep]


def scan_spans(
    corpus: TokenCorpus,
    keys: Sequence[WatermarkKey],
    alpha: float = 1e-4,
    lines: I64 | None = None,
    shared: Shared = "first",
    exclude: U64 | None = None,
    sizes: Sequence[int] = SIZES,
) -> SpanScan:
    """Marked spans of every document, corrected for all windows and keys tried.

    The number of windows does not depend on the key, so the correction is known before
    any key is scored and only passing windows are kept: memory is one key's prefix sums,
    whatever the number of keys.
    """
    total = corpus.tokens
    per_window: dict[int, tuple[I64, U64]] = {}
    bounds = [window_bounds(corpus.starts, total, s) for s in sizes]
    tried = sum(int(b[0].shape[0]) for b in bounds) * len(keys)
    family = max(1, tried)
    best = 1.0
    found: list[tuple[int, int, int, int, int, float]] = []  # key, doc, a, b, n, p
    for k, key in enumerate(keys):
        window = key.scheme.window
        if window not in per_window:
            per_window[window] = counted(corpus, window, shared, exclude)
        pos, fps = per_window[window]
        cum_w = np.zeros(total + 1)
        cum_n = np.zeros(total + 1, dtype=np.int64)
        cum_w[pos + 1] = tuple_weights(keyed_uniform(fps, key.material), key.scheme)
        cum_n[pos + 1] = 1
        cum_w, cum_n = np.cumsum(cum_w), np.cumsum(cum_n)
        for doc, a, b in bounds:
            n = cum_n[b] - cum_n[a]
            p = p_values(cum_w[b] - cum_w[a], n, key.scheme)
            if p.shape[0]:
                best = min(best, float(p.min()) * family)
            for j in np.flatnonzero(p * family <= alpha):
                found.append((k, int(doc[j]), int(a[j]), int(b[j]), int(n[j]), float(p[j])))
    sorted_at = {w: np.sort(pos) for w, (pos, _) in per_window.items()}
    counted_at = [sorted_at[k.scheme.window] for k in keys]
    spans = _merge(found, corpus.starts, keys, lines, family, counted_at)
    return SpanScan(tried, min(1.0, best), tuple(spans))


def _merge(
    found: list[tuple[int, int, int, int, int, float]],
    starts: I64,
    keys: Sequence[WatermarkKey],
    lines: I64 | None,
    family: int,
    counted_at: list[I64],
) -> list[Span]:
    """Passing windows to spans, per document and key, greedily: the best window, grown by
    the passing windows of its own size that chain onto it, trimmed to the tuples it
    counts; windows overlapping that span are then used up, and the next best window
    starts the next span. (Merging across sizes would let one long window that covers a
    short marked passage swallow it.)"""
    groups: dict[tuple[int, int], list[tuple[float, int, int, int]]] = {}
    for k, doc, a, b, n, p in found:
        groups.setdefault((k, doc), []).append((p, a, b, n))
    spans: list[Span] = []
    for (k, doc), windows in groups.items():
        left = sorted(windows)
        while left:
            p, a, b, n = left[0]
            same = sorted((w[1], w[2]) for w in left if w[2] - w[1] == b - a)
            lo, hi = a, b
            for wa, wb in same:  # chain to the right of the best window
                if lo <= wa <= hi:
                    hi = max(hi, wb)
            for wa, wb in reversed(same):  # and to its left
                if wa <= lo <= wb:
                    lo = min(lo, wa)
            left = [w for w in left if w[2] <= lo or w[1] >= hi]
            at = counted_at[k][
                np.searchsorted(counted_at[k], lo) : np.searchsorted(counted_at[k], hi)
            ]
            if at.shape[0]:
                lo, hi = int(at[0]), int(at[-1]) + 1
            spans.append(_span([k, doc, lo, hi, n, p], starts, keys, lines, family))
    return sorted(spans, key=lambda s: s.p_value)


def _span(
    c: list[int | float], starts: I64, keys: Sequence[WatermarkKey], lines: I64 | None, family: int
) -> Span:
    k, doc, a, b, n, p = int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]), float(c[5])
    key = keys[k]
    return Span(
        doc=doc,
        line=int(lines[doc]) if lines is not None else 0,
        key=key.label,
        account=key.account,
        start=a - int(starts[doc]),
        end=b - int(starts[doc]),
        scored=n,
        p_value=p,
        p_adjusted=min(1.0, p * family),
    )
