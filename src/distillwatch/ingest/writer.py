"""Write ``REQUESTS_SCHEMA`` batches as a Parquet dataset, part by part, published at the end.

Parts go to ``DIR/.requests.partial/`` and only replace ``DIR/requests/`` when the run
succeeds, so a run that fails half way (a strict violation, a damaged file) never leaves a
half-written dataset that a later ``scan`` would read as if it were complete. A part is closed
and a new one started every ``rows_per_part`` rows, so no single file grows without limit, and
each record batch becomes one row group. A run with no valid rows still writes one empty part,
so ``read_parquet('DIR/requests/*.parquet')`` finds the schema instead of failing on no files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.schema import REQUESTS_SCHEMA

ROWS_PER_PART = 1 << 20
COMPRESSION = "zstd"


class PartWriter:
    """Streams batches into ``DIR/requests/part-NNNNN.parquet``; call commit() or abort()."""

    def __init__(self, out_dir: Path, *, rows_per_part: int = ROWS_PER_PART) -> None:
        self.final = out_dir / "requests"
        self.staging = out_dir / ".requests.partial"
        self.rows_per_part = rows_per_part
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_part = 0
        self._parts = 0

    def _open_part(self) -> pq.ParquetWriter:
        path = self.staging / f"part-{self._parts:05d}.parquet"
        self._parts += 1
        self._rows_in_part = 0
        return pq.ParquetWriter(path, REQUESTS_SCHEMA, compression=COMPRESSION)

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch (empty batches are ignored)."""
        if not batch.num_rows:
            return
        if self._writer is None or self._rows_in_part >= self.rows_per_part:
            self._close_part()
            self._writer = self._open_part()
        self._writer.write_batch(batch)
        self._rows_in_part += batch.num_rows

    def commit(self) -> list[Path]:
        """Finish the last part and publish the dataset in place of any previous one."""
        if self._parts == 0:
            self._writer = self._open_part()
        self._close_part()
        retired = self.final.with_name(".requests.old")
        shutil.rmtree(retired, ignore_errors=True)
        if self.final.exists():
            self.final.rename(retired)
        self.staging.rename(self.final)
        shutil.rmtree(retired, ignore_errors=True)
        return sorted(self.final.glob("part-*.parquet"))

    def abort(self) -> None:
        """Throw away everything written in this run."""
        self._close_part()
        shutil.rmtree(self.staging, ignore_errors=True)
