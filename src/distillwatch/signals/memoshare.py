"""Per-prompt signal values passed between the ingest workers of one stream, through files.

Each ingest worker keeps a memo of the per-prompt values it computed (:mod:`signals.memo`),
so a prompt seen again is not computed again -- by that worker. With two workers, a prompt
that both meet was computed by both: on the log of ``make demo`` (592,446 requests, 24 MB
chunks handed out in turn) two memos compute 282,208 prompts where one computes 246,235,
about 0.6 CPU s of the signals (``benchmarks/results/scan.md``).

Here each worker, after a chunk, writes the values it computed for that chunk to a file in
the stream's directory in ``/dev/shm`` (``ingest.shared.task_directory``), and before its
next chunk reads the files the other workers wrote since and adds them to its memo; a
worker keeps only its latest :data:`KEEP_FILES` files (a file not read in time is only
values computed again). The others' values fill a memo only as far as it has room: they
never empty it (``PromptMemo.merge``), so on a log whose prompts overflow the memo a worker
still holds its own recent ones. Values are a pure function of the prompt (the memo's own
contract), so which worker computed a prompt changes nothing but the time: the rows are the
same with or without this (``tests/test_signals_memoshare.py``, and two workers against one
process in ``tests/test_signals_fast_paths.py``). Files are written under a temporary name
and renamed into place, so a reader never sees half of one; they go with the directory when
the stream ends. Any failure to write or read a file only means computing again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from distillwatch.signals.memo import PromptMemo

_PREFIX = "memo-"
_SUFFIX = ".arrow"
#: Name of the key column in a file (the memo's values are the others).
_KEY = "__prompt_key"
#: Files a worker leaves in place (its latest); older ones are removed, so that the
#: directory holds a few chunks' values whatever the length of the log.
KEEP_FILES = 4


class MemoExchange:
    """One worker's side of the exchange in one stream directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.own = f"{_PREFIX}{os.getpid()}-"
        self.read: set[str] = set()
        self.written = 0

    def gather(self, memo: PromptMemo) -> int:
        """Add to ``memo`` the values of every file of another worker not read yet; returns
        how many prompts were added."""
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return 0
        added = 0
        for name in names:
            if not name.startswith(_PREFIX) or not name.endswith(_SUFFIX):
                continue
            if name.startswith(self.own) or name in self.read:
                continue
            self.read.add(name)
            try:
                with pa.memory_map(str(self.directory / name)) as source:
                    table = pa.ipc.open_file(source).read_all()
            except (OSError, pa.ArrowInvalid):
                continue
            if not table.num_rows or table.column_names[0] != _KEY:
                continue
            keys = table.column(0).to_numpy()
            added += memo.merge(np.ascontiguousarray(keys, np.uint64), table.drop_columns([_KEY]))
        return added

    def publish(self, memo: PromptMemo) -> None:
        """Write what ``memo`` computed since the last call to a file for the others."""
        fresh = memo.take_fresh()
        if not fresh:
            return
        keys = np.concatenate([k for k, _ in fresh])
        values = pa.concat_tables([v for _, v in fresh])
        table = pa.Table.from_arrays(
            [pa.array(keys, pa.uint64()), *values.columns], [_KEY, *values.column_names]
        )
        name = f"{self.own}{self.written}{_SUFFIX}"
        part = self.directory / f"{name}.part"
        try:
            with pa.OSFile(str(part), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)
            os.replace(part, self.directory / name)
        except (OSError, pa.ArrowInvalid):
            with contextlib.suppress(OSError):
                part.unlink()
            return
        self.written += 1
        # the others read a file before their next chunk: older ones only hold memory
        with contextlib.suppress(OSError):
            (self.directory / f"{self.own}{self.written - 1 - KEEP_FILES}{_SUFFIX}").unlink()


__all__ = ["MemoExchange"]
