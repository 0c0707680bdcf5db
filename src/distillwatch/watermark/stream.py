"""Streaming detection: any amount of text in memory bounded by a fixed buffer.

Exact detection must score each distinct tuple once, across the whole input, so the
key-independent work cannot simply run batch by batch. Instead each batch of documents is
tokenised and fingerprinted, and its (tuple, document) pairs go to one of 64 bucket files
by the tuple's top bits; every occurrence of a tuple lands in the same bucket. Then each
bucket is read back alone and de-duplicated, and its share of every key's pooled score and
of every document's score is added up. Memory is one batch (``batch_bytes`` of text) plus
one bucket of at most ``bucket_pairs`` pairs (a bigger one is split again by the next
bits) plus per-document totals; disk holds 16 bytes per tuple.
Small inputs never touch the disk (pairs stay in memory up to ``memory_pairs``).

Windowed span detection runs per batch, on whole documents (a long plain text comes in
pieces and its spans are looked for piece by piece); the set-wide rule for shared tuples
(``documents``) then applies within the batch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from distillwatch.watermark.detect import Detection, KeyScore
from distillwatch.watermark.documents import (
    DocTally,
    DocumentScores,
    Shared,
    canonical,
    occurrences,
    p_values,
    split_pairs,
    tuple_weights,
    z_scores,
)
from distillwatch.watermark.keys import WatermarkKey
from distillwatch.watermark.prf import I64, U64, document_hashes, keyed_uniform
from distillwatch.watermark.spans import Span, scan_spans
from distillwatch.watermark.stats import holm
from distillwatch.watermark.textio import Piece
from distillwatch.watermark.tokens import TokenCorpus

#: text per batch handed to the tokenizer
BATCH_BYTES = 2 << 20
#: (tuple, document) pairs kept in memory before spilling to bucket files
MEMORY_PAIRS = 2 << 20
BUCKET_BITS = 6
#: pairs read back at once at most; a bigger bucket is split again by the next bits
BUCKET_PAIRS = 8 << 20
MAX_LEVELS = 4
#: per-document totals kept at most for this many (document, key) pairs (8 bytes each)
MAX_DOCUMENT_KEYS = 50_000_000
PAIR = np.dtype([("fp", "<u8"), ("doc", "<i8")])


@dataclass(frozen=True)
class TokenPiece:
    """Token ids of one document, or of a consecutive part of a long one."""

    doc: int
    line: int
    ids: I64


def tokenised(
    pieces: Iterable[Piece], tokenizer: Any, batch_bytes: int = BATCH_BYTES
) -> Iterator[list[TokenPiece]]:
    """Batches of about ``batch_bytes`` of text, tokenised (no special tokens)."""
    batch: list[Piece] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece.text)
        if size >= batch_bytes:
            yield _encode(batch, tokenizer)
            batch, size = [], 0
    if batch:
        yield _encode(batch, tokenizer)


def _encode(batch: list[Piece], tokenizer: Any) -> list[TokenPiece]:
    encodings = tokenizer.encode_batch_fast([p.text for p in batch], add_special_tokens=False)
    return [
        TokenPiece(p.doc, p.line, np.asarray(e.ids, dtype=np.int64))
        for p, e in zip(batch, encodings, strict=True)
    ]


def id_batches(
    docs: Iterable[tuple[int, I64]], batch_tokens: int = BATCH_BYTES // 3
) -> Iterator[list[TokenPiece]]:
    """Batches of logged token-id documents ((line, ids) each)."""
    batch: list[TokenPiece] = []
    size = 0
    for doc, (line, ids) in enumerate(docs):
        batch.append(TokenPiece(doc, line, ids))
        size += int(ids.shape[0])
        if size >= batch_tokens:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class Spill:
    """(tuple, document) pairs per context window, split by tuple into bucket files.

    A bucket is split again, by the next bits of the tuple, when it holds more than
    ``bucket_pairs`` pairs, so reading one back never needs more than a fixed buffer
    whatever the size of the input.
    """

    def __init__(
        self, directory: Path, memory_pairs: int = MEMORY_PAIRS, bucket_pairs: int = BUCKET_PAIRS
    ) -> None:
        self.directory = directory
        self.memory_pairs = memory_pairs
        self.bucket_pairs = bucket_pairs
        self.held: dict[int, list[np.ndarray]] = {}
        self.count = 0
        self.on_disk = False

    def add(self, window: int, fps: U64, docs: I64) -> None:
        pairs = np.empty(fps.shape[0], dtype=PAIR)
        pairs["fp"], pairs["doc"] = fps, docs
        self.held.setdefault(window, []).append(pairs)
        self.count += int(fps.shape[0])
        if self.on_disk or self.count > self.memory_pairs:
            self._flush()

    def _flush(self) -> None:
        """Append the held pairs to their bucket files, part by part."""
        self.on_disk = True
        for window, parts in self.held.items():
            for pairs in parts:
                _distribute(pairs, 0, partial(self._bucket, window))
        self.held = {w: [] for w in self.held}
        self.count = 0

    def buckets(self, window: int) -> Iterator[tuple[U64, I64]]:
        """Every bucket's pairs in turn: all occurrences of a tuple are in one bucket."""
        if not self.on_disk:
            parts = self.held.get(window, [])
            pairs = np.concatenate(parts) if parts else np.empty(0, dtype=PAIR)
            yield pairs["fp"], pairs["doc"]
            return
        for b in range(1 << BUCKET_BITS):
            path = self._bucket(window, b)
            if path.exists():
                yield from self._read(path, 1)

    def _bucket(self, window: int, bucket: int) -> Path:
        return self.directory / f"w{window}-b{bucket}.pairs"

    def _read(self, path: Path, level: int) -> Iterator[tuple[U64, I64]]:
        """A bucket's pairs, or — when it is too big — its sub-buckets' in turn."""
        if path.stat().st_size <= self.bucket_pairs * PAIR.itemsize or level >= MAX_LEVELS:
            pairs = np.fromfile(path, dtype=PAIR)
            path.unlink()
            yield pairs["fp"], pairs["doc"]
            return
        with path.open("rb") as fh:
            while (chunk := np.fromfile(fh, dtype=PAIR, count=self.bucket_pairs)).shape[0]:
                _distribute(chunk, level, lambda b: path.with_name(f"{path.name}.{b}"))
        path.unlink()
        for b in range(1 << BUCKET_BITS):
            sub = path.with_name(f"{path.name}.{b}")
            if sub.exists():
                yield from self._read(sub, level + 1)


def _distribute(pairs: np.ndarray, level: int, path_of: Callable[[int], Path]) -> None:
    """Append pairs to the files of their bucket: bits ``level`` (6 at a time, from the
    top) of the tuple fingerprint; a uint8 bucket number and one stable sort."""
    shift = np.uint64(64 - BUCKET_BITS * (level + 1))
    mask = np.uint64((1 << BUCKET_BITS) - 1)
    bucket = ((pairs["fp"] >> shift) & mask).astype(np.uint8)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange((1 << BUCKET_BITS) + 1))
    ordered = pairs[order]
    del bucket, order
    for b in np.flatnonzero(np.diff(bounds)):
        with path_of(int(b)).open("ab") as fh:
            ordered[bounds[b] : bounds[b + 1]].tofile(fh)


@dataclass
class StreamResult:
    """Pooled detection, per-document scores and marked spans of one streamed input."""

    detection: Detection
    documents: DocumentScores | None
    spans: list[Span] = field(default_factory=list)
    windows_tried: int = 0
    #: why per-document scores were not computed, when they were not
    documents_skipped: str | None = None


@dataclass
class _State:
    hashes: list[U64] = field(default_factory=list)
    lines: list[I64] = field(default_factory=list)
    tokens: int = 0
    tuples: dict[int, int] = field(default_factory=dict)
    docs: int = 0
    #: last tokens of the document the previous batch ended in, and its tokens so far
    carry: TokenPiece | None = None
    carried: int = 0
    batch_lines: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def detect_stream(
    batches: Iterable[list[TokenPiece]],
    keys: Sequence[WatermarkKey],
    exclude: dict[int, U64] | None = None,
    shared: Shared = "first",
    per_document: bool = True,
    spans_alpha: float | None = None,
    workdir: Path | None = None,
    memory_pairs: int = MEMORY_PAIRS,
    bucket_pairs: int = BUCKET_PAIRS,
) -> StreamResult:
    """Pooled, per-document and (with ``spans_alpha``) windowed detection over batches."""
    if not keys:
        raise ValueError("no keys to test against")
    windows = list(dict.fromkeys(k.scheme.window for k in keys))
    exclude = exclude or {}
    state = _State(tuples=dict.fromkeys(windows, 0))
    spans: list[Span] = []
    tried = 0
    with tempfile.TemporaryDirectory(prefix="dw-watermark-", dir=workdir) as tmp:
        spill = Spill(Path(tmp), memory_pairs, bucket_pairs)
        for batch in batches:
            corpus, index, offsets = _batch_corpus(batch, state, max(windows))
            for window in windows:
                fps, docs, _ = occurrences(corpus, window, index, exclude.get(window))
                state.tuples[window] += _full_windows(corpus, window)
                spill.add(window, fps, docs)
            if spans_alpha is not None:
                scan = scan_spans(corpus, keys, spans_alpha, state.batch_lines, shared)
                tried += scan.windows_tried
                spans += [_place(s, index, offsets) for s in scan.spans]
        pairs = state.docs * len(keys)
        skipped = None
        if per_document and pairs > MAX_DOCUMENT_KEYS:
            per_document = False
            skipped = (
                f"{state.docs:,} documents x {len(keys):,} keys is over {MAX_DOCUMENT_KEYS:,} "
                "pairs; test fewer keys (--account) for per-document scores"
            )
        detection, documents = _score(spill, keys, windows, state, shared, per_document)
    if spans_alpha is not None:
        family = max(1, tried)
        spans = [replace(s, p_adjusted=min(1.0, s.p_value * family)) for s in spans]
        spans = sorted((s for s in spans if s.p_adjusted <= spans_alpha), key=lambda s: s.p_value)
    return StreamResult(detection, documents, spans, tried, skipped)


def _batch_corpus(
    batch: list[TokenPiece], state: _State, window: int
) -> tuple[TokenCorpus, I64, I64]:
    """The batch as a corpus (pieces of one document joined, the previous batch's last
    ``window`` tokens in front when it continues a document), the global index of each of
    its documents, and each document's token offset (negative by the carried tokens)."""
    groups: list[list[TokenPiece]] = []
    for piece in batch:
        if groups and groups[-1][0].doc == piece.doc:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    seqs = [np.concatenate([p.ids for p in g]) for g in groups]
    offsets = np.zeros(len(groups), dtype=np.int64)
    carry = state.carry
    continues = carry is not None and groups[0][0].doc == carry.doc
    if continues and carry is not None:
        offsets[0] = state.carried - carry.ids.shape[0]
        seqs[0] = np.concatenate([carry.ids, seqs[0]])
    corpus = TokenCorpus.of(seqs)
    index = np.array([g[0].doc for g in groups], dtype=np.int64)
    hashes = document_hashes(corpus.ids, corpus.starts)
    new = slice(1 if continues else 0, None)
    state.hashes.append(hashes[new])
    state.lines.append(np.array([g[0].line for g in groups], dtype=np.int64)[new])
    state.batch_lines = np.array([g[0].line for g in groups], dtype=np.int64)
    state.docs += len(groups) - (1 if continues else 0)
    state.tokens += corpus.tokens - (carry.ids.shape[0] if continues and carry else 0)
    state.carried = int(offsets[-1]) + int(seqs[-1].shape[0])  # tokens of that document so far
    state.carry = TokenPiece(groups[-1][0].doc, groups[-1][0].line, seqs[-1][-window:])
    return corpus, index, offsets


def _full_windows(corpus: TokenCorpus, window: int) -> int:
    lengths = np.diff(np.append(corpus.starts, corpus.tokens))
    return int(np.maximum(lengths - window, 0).sum())


def _place(span: Span, index: I64, offsets: I64) -> Span:
    """A span found in a batch, in document numbers and offsets of the whole input."""
    shift = int(offsets[span.doc])
    return replace(span, doc=int(index[span.doc]), start=span.start + shift, end=span.end + shift)


def _score(
    spill: Spill,
    keys: Sequence[WatermarkKey],
    windows: list[int],
    state: _State,
    shared: Shared,
    per_document: bool,
) -> tuple[Detection, DocumentScores | None]:
    """Bucket by bucket: the pooled score of every key and every document's score."""
    hashes = np.concatenate(state.hashes) if state.hashes else np.zeros(0, dtype=np.uint64)
    canon = canonical(hashes)
    tally = DocTally(canon, keys) if per_document and hashes.shape[0] else None
    scored = dict.fromkeys(windows, 0)
    stats = np.zeros(len(keys))
    for window in windows:
        for fps, docs in spill.buckets(window):
            distinct, kept, owner = split_pairs(fps, canon[docs], shared)
            scored[window] += int(distinct.shape[0])
            for i, key in enumerate(keys):
                if key.scheme.window == window:
                    u = keyed_uniform(distinct, key.material)
                    stats[i] += float(tuple_weights(u, key.scheme).sum())
            if tally is not None:
                tally.add(window, kept, owner)
    detection = _pooled(keys, stats, scored, state, windows[0])
    lines = np.concatenate(state.lines) if state.lines else None
    return detection, tally.result(lines) if tally is not None else None


def _pooled(
    keys: Sequence[WatermarkKey],
    stats: np.ndarray,
    scored: dict[int, int],
    state: _State,
    first_window: int,
) -> Detection:
    rows = []
    for i, key in enumerate(keys):
        n = scored[key.scheme.window]
        stat = np.array([stats[i]])
        p = float(p_values(stat, [n], key.scheme)[0])
        z = float(z_scores(stat, [n], key.scheme)[0])
        rows.append((key, n, float(stats[i]), z, p))
    adjusted = holm([r[4] for r in rows])
    scores = [
        KeyScore(k.label, k.key_id, k.account, k.scheme.describe(), n, s, z, p, adj)
        for (k, n, s, z, p), adj in zip(rows, adjusted, strict=True)
    ]
    scores.sort(key=lambda s: (s.p_value, s.label))
    return Detection(state.tokens, state.docs, state.tuples[first_window], tuple(scores))


def default_workdir() -> Path | None:
    """Where bucket files go: ``$DISTILLWATCH_TMPDIR``, else the system's temp directory."""
    value = os.environ.get("DISTILLWATCH_TMPDIR")
    return Path(value) if value else None
