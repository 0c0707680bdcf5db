"""A Spark session that answers the DuckDB calls of the feature and output code.

:mod:`distillwatch.features` and :mod:`distillwatch.scan.outputs` talk to their SQL engine
through three calls of a DuckDB connection: ``execute(sql)``, ``sql(sql).pl()`` (or
``.fetchall()``) and ``register(name, arrow_table)``. :class:`SparkConnection` offers the same
three over a Spark session, turning each DuckDB statement into Spark SQL with
:func:`~distillwatch.scan.spark.dialect.to_spark`; so the Spark back end runs the very same
queries, not copies of them. Results come back to the driver as Arrow (they are per account
at most: the per-request work stays in Spark).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.scan.spark.dialect import to_spark

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame, SparkSession

_VIEW_TYPES = {pa.string_view(): pa.string(), pa.large_string(): pa.string()}


def hadoop_path(path: Path) -> str:
    """``path`` for Spark's readers, which expand glob patterns (``scan-local[1]`` would be
    read as ``scan-local1``): their metacharacters escaped."""
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", str(path))


def plain_arrow(table: pa.Table) -> pa.Table:
    """``table`` with the string types Spark reads (Polars hands out views and large strings)."""
    fields = [pa.field(f.name, _VIEW_TYPES.get(f.type, f.type), f.nullable) for f in table.schema]
    return table.cast(pa.schema(fields))


class SparkResult:
    """The lazy result of one statement; ``pl()``/``fetchall()`` run it."""

    def __init__(self, frame: DataFrame | None) -> None:
        self.frame = frame

    def arrow(self) -> pa.Table:
        """The rows on the driver, as Arrow."""
        if self.frame is None:
            return pa.table({})
        return self.frame.toArrow()

    def pl(self) -> pl.DataFrame:
        """The rows as a Polars frame (what ``DuckDBPyRelation.pl()`` gives)."""
        frame = pl.from_arrow(self.arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows as tuples (what ``DuckDBPyConnection.fetchall()`` gives)."""
        return [tuple(row) for row in self.pl().iter_rows()]


class SparkConnection:
    """DuckDB's ``execute``/``sql``/``register`` over a Spark session.

    ``CREATE TEMP TABLE`` results are written as Parquet under ``work`` and read back: a
    table the later queries read many times is computed once, and it lives on disk, not in
    the driver's memory.
    """

    def __init__(self, spark: SparkSession, work: Path) -> None:
        self.spark = spark
        self.work = work

    def execute(self, sql: str) -> SparkResult:
        """Carry out one DuckDB statement."""
        statement = to_spark(sql)
        if statement.kind == "conf":
            self.spark.conf.set(statement.name, statement.value)
        elif statement.kind == "view":
            self.spark.sql(statement.sql).createOrReplaceTempView(statement.name)
        elif statement.kind == "table":
            self._materialise(statement.name, statement.sql)
        elif statement.kind == "copy":
            pq.write_table(SparkResult(self.spark.sql(statement.sql)).arrow(), statement.name)
        elif statement.kind == "query":
            return SparkResult(self.spark.sql(statement.sql))
        return SparkResult(None)

    def sql(self, sql: str) -> SparkResult:
        """A query's result (lazy, like DuckDB's relation)."""
        return self.execute(sql)

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table on the driver a view (membership lists, flags: small)."""
        self.spark.createDataFrame(plain_arrow(table)).createOrReplaceTempView(name)

    def table(self, name: str) -> DataFrame:
        """A view or table defined so far."""
        return self.spark.table(name)

    def close(self) -> None:
        """Drop this scan's views (the session may serve another scan)."""
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)

    def _materialise(self, name: str, query: str) -> None:
        path = self.work / "tables" / name
        self.spark.sql(query).write.mode("overwrite").parquet(str(path))
        self.spark.read.parquet(hadoop_path(path)).createOrReplaceTempView(name)

    def as_duckdb(self) -> duckdb.DuckDBPyConnection:
        """This object where the feature and output code expects a DuckDB connection (it
        uses only the calls above)."""
        return cast("duckdb.DuckDBPyConnection", self)


__all__ = ["SparkConnection", "SparkResult", "plain_arrow"]
