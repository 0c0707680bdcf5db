"""The protocol every per-request signal follows.

A signal is a small, pure class in the spirit of river's detectors and pySigma's checks: it
declares the request columns it reads (``inputs``) and the typed columns it writes
(``outputs``), and turns one Arrow batch into those columns. It does no I/O and keeps no
state beyond immutable parameters loaded once (a packaged model, a phrase list), so the same
object serves batch scans and the online gateway, from any number of threads.

Adding a signal means writing one subclass in one file and listing it in
``distillwatch.signals.SIGNALS``.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa

from distillwatch.signals.view import PromptView


class RequestSignal(ABC):
    """One per-request fact (or a few closely related ones) computed from a batch.

    Most of the work depends on the prompt text alone, so it is split in two steps:
    :meth:`per_prompt` computes one value per *unique* prompt of the view (results that
    :mod:`distillwatch.signals.memo` can keep across batches), and :meth:`per_row` spreads
    them to the requests, applying anything that depends on other request columns.
    """

    #: Short identifier, used in benchmarks and error messages.
    name: ClassVar[str]
    #: Request columns (``REQUESTS_SCHEMA`` names) this signal reads.
    inputs: ClassVar[tuple[str, ...]]
    #: Output column names and their Arrow types, in order.
    outputs: ClassVar[dict[str, pa.DataType]]

    def match_patterns(self) -> tuple[str, ...]:
        """Every RE2 pattern this signal asks :meth:`PromptView.matches` about, so that the
        registry can answer them all in one pass (``signals.multimatch``)."""
        return ()

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        """Values that depend on the prompt text only, one per ``view.unique`` entry.

        The keys are output column names (the values may use a compact internal type, which
        :meth:`per_row` converts). The default is no such values.
        """
        return {}

    def per_row(
        self, batch: pa.RecordBatch, view: PromptView, prompts: Mapping[str, pa.Array]
    ) -> dict[str, pa.Array]:
        """One array per ``outputs`` entry, row-aligned with ``batch``, from the values of
        :meth:`per_prompt` (the default spreads each of them to the rows)."""
        return {column: view.expand(prompts[column]) for column in self.outputs}

    def compute(self, batch: pa.RecordBatch, view: PromptView) -> dict[str, pa.Array]:
        """Return one array per ``outputs`` entry, each row-aligned with ``batch``.

        ``view`` is the batch's shared :class:`PromptView` (de-duplicated, truncated prompt
        text); signals that only need metadata may ignore it.
        """
        return self.per_row(batch, view, self.per_prompt(view))

    def __call__(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        """Run this signal alone (builds its own view; the registry shares one instead)."""
        return self.compute(batch, PromptView.of(batch))


class PatternSignal(RequestSignal):
    """A boolean flag raised when the prompt matches any phrase of a multilingual list.

    Subclasses give ``column`` and ``patterns`` (RE2 patterns over lower-cased text, usually
    one alternation; the flag is raised when any matches); they may override :meth:`refine`
    to combine several patterns (e.g. "a request to grade" *and* "candidate answers
    present"), and then list those in :meth:`match_patterns` too.
    """

    column: ClassVar[str]
    patterns: ClassVar[tuple[str, ...]]
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)

    def refine(self, view: PromptView, hit: np.ndarray) -> np.ndarray:
        """Adjust the raw per-unique-prompt matches; the default keeps them."""
        return hit

    def match_patterns(self) -> tuple[str, ...]:
        return self.patterns

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        hit = self.refine(view, view.matches_any(self.patterns))
        return {self.column: pa.array(hit, pa.bool_())}


def get_column(batch: pa.RecordBatch, name: str, fill: object, dtype: pa.DataType) -> np.ndarray:
    """A request column as NumPy with nulls (or a missing column) replaced by ``fill``."""
    if name not in batch.schema.names:
        return np.full(batch.num_rows, fill, dtype=dtype.to_pandas_dtype())
    col = batch.column(name)
    if col.null_count:
        col = col.fill_null(pa.scalar(fill, col.type))
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=dtype.to_pandas_dtype())
