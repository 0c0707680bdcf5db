"""Per-request signals: facts about each request that account and campaign scoring build on.

``compute(batch)`` runs every registered signal over one Arrow batch of ``REQUESTS_SCHEMA``
rows and returns one row-aligned batch with the columns of :data:`OUTPUT_SCHEMA`:

=====================  =========  ==========================================================
column                 type       meaning
=====================  =========  ==========================================================
capability             string     one of :data:`CAPABILITIES`
capability_conf        float32    model probability of ``capability``
cot_elicit             bool       asks for chain-of-thought / articulated reasoning
grading_request        bool       asks to grade, score, compare or rank answers
sensitive_rewrite      bool       asks for "safe" rewrites of politically sensitive questions
language               string     ISO 639-1 code or ``und``
template_id            uint64     hash of the prompt's instruction skeleton
lsh_0 … lsh_3          uint64     MinHash LSH bands (0 = empty prompt)
prompt_chars           int32      characters in the last user turn
=====================  =========  ==========================================================

Detection code may rely on these names and types; changing them is a contract change.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import ClassVar

import numpy as np
import pyarrow as pa

from distillwatch.signals.base import RequestSignal
from distillwatch.signals.capability import CAPABILITIES, CapabilitySignal
from distillwatch.signals.cot import CotSignal
from distillwatch.signals.grading import GradingSignal
from distillwatch.signals.language import LanguageSignal
from distillwatch.signals.memo import PromptMemo
from distillwatch.signals.memoshare import MemoExchange
from distillwatch.signals.multimatch import PatternSet
from distillwatch.signals.sensitive import SensitiveRewriteSignal
from distillwatch.signals.sketch import SketchSignal
from distillwatch.signals.template import TemplateSignal
from distillwatch.signals.view import PromptView


class PromptCharsSignal(RequestSignal):
    """``prompt_chars``: length of the last user turn (0 for a missing one)."""

    name: ClassVar[str] = "prompt_chars"
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)
    outputs: ClassVar[dict[str, pa.DataType]] = {"prompt_chars": pa.int32()}

    def per_row(
        self, batch: pa.RecordBatch, view: PromptView, prompts: Mapping[str, pa.Array]
    ) -> dict[str, pa.Array]:
        return {"prompt_chars": pa.array(view.chars, pa.int32())}


#: Every signal, in output-column order.
SIGNALS: tuple[RequestSignal, ...] = (
    CapabilitySignal(),
    CotSignal(),
    GradingSignal(),
    SensitiveRewriteSignal(),
    LanguageSignal(),
    TemplateSignal(),
    SketchSignal(),
    PromptCharsSignal(),
)

#: The schema of :func:`compute`'s result.
OUTPUT_SCHEMA = pa.schema(
    [pa.field(col, typ) for sig in SIGNALS for col, typ in sig.outputs.items()],
    metadata={"distillwatch.signals_version": "1"},
)

#: Largest number of rows processed at once (bounds temporary memory of the hashing).
CHUNK_ROWS = 32_768


@cache
def pattern_set() -> PatternSet:
    """Every signal's regex questions, answered in one pass per prompt (compiled once)."""
    return PatternSet(p for sig in SIGNALS for p in sig.match_patterns())


def _fresh(view: PromptView) -> pa.Table:
    """Every signal's per-prompt values for the unique prompts of ``view``."""
    columns: dict[str, pa.Array] = {}
    for sig in SIGNALS:
        columns.update(sig.per_prompt(view))
    return pa.table(columns)


def per_prompt(view: PromptView, memo: PromptMemo | None = None) -> pa.Table:
    """Per-prompt values of every signal, one row per ``view.unique`` entry.

    With a ``memo``, prompts it holds are not recomputed and the new ones are added to it.
    """
    if memo is None or not view.n_unique:
        return _fresh(view)
    keys = view.keys()
    rows = memo.find(keys)
    missing = rows < 0
    if not missing.any():
        return memo.take(rows)
    if missing.all():
        fresh = _fresh(view)
        memo.add(keys, fresh)
        return fresh
    fresh = _fresh(view.subset(missing))
    known = memo.take(rows[~missing])
    memo.add(keys[missing], fresh)
    # known rows first, then fresh ones: put each back at its prompt's position
    order = np.empty(view.n_unique, dtype=np.int64)
    order[~missing] = np.arange(len(known))
    order[missing] = len(known) + np.arange(len(fresh))
    return pa.concat_tables([known, fresh.cast(known.schema)]).take(pa.array(order))


def compute(
    batch: pa.RecordBatch, memo: PromptMemo | None = None, *, one_pass: bool = True
) -> pa.RecordBatch:
    """All signal columns for ``batch`` (row-aligned; schema :data:`OUTPUT_SCHEMA`).

    ``memo`` (optional) keeps per-prompt values across calls; the result is the same with
    or without it. ``one_pass`` answers the flag and cue patterns with one scan of each
    prompt (:mod:`signals.multimatch`); without it each pattern is its own RE2 pass (the
    definition, for tests); the result is the same.
    """
    if not batch.num_rows:
        return pa.RecordBatch.from_pylist([], schema=OUTPUT_SCHEMA)
    if batch.num_rows > CHUNK_ROWS:
        parts = [
            compute(batch.slice(i, CHUNK_ROWS), memo, one_pass=one_pass)
            for i in range(0, batch.num_rows, CHUNK_ROWS)
        ]
        return pa.Table.from_batches(parts, OUTPUT_SCHEMA).combine_chunks().to_batches()[0]
    view = PromptView.of(batch)
    if one_pass:
        view.use_patterns(pattern_set())
    prompts = per_prompt(view, memo)
    values = {name: prompts.column(name).combine_chunks() for name in prompts.column_names}
    columns: dict[str, pa.Array] = {}
    for sig in SIGNALS:
        columns.update(sig.per_row(batch, view, values))
    return pa.RecordBatch.from_arrays(
        [columns[f.name].cast(f.type) for f in OUTPUT_SCHEMA], schema=OUTPUT_SCHEMA
    )


_PROCESS_MEMO: PromptMemo | None = None
_EXCHANGE: MemoExchange | None = None


def compute_remembering(batch: pa.RecordBatch) -> pa.RecordBatch:
    """:func:`compute` with one memo per process, kept between calls.

    For worker processes that compute the signals of a whole log chunk by chunk (``scan``):
    a module-level function, so that it pickles by name, and a memo that lives as long as
    the worker. In an ingest worker of a stream with a shared directory, the memo also takes
    in the values the other workers computed, and hands them its own
    (:mod:`signals.memoshare`).
    """
    global _PROCESS_MEMO, _EXCHANGE
    from distillwatch.ingest.shared import task_directory  # in workers only: imported there

    if _PROCESS_MEMO is None:
        _PROCESS_MEMO = PromptMemo()
    directory = task_directory()
    if directory is None:
        return compute(batch, _PROCESS_MEMO)
    if _EXCHANGE is None or _EXCHANGE.directory != directory:
        _EXCHANGE = MemoExchange(directory)
        _PROCESS_MEMO.keep_fresh = True
    _EXCHANGE.gather(_PROCESS_MEMO)
    result = compute(batch, _PROCESS_MEMO)
    _EXCHANGE.publish(_PROCESS_MEMO)
    return result


__all__ = [
    "CAPABILITIES",
    "OUTPUT_SCHEMA",
    "SIGNALS",
    "PromptMemo",
    "PromptView",
    "RequestSignal",
    "compute",
    "compute_remembering",
    "per_prompt",
]
