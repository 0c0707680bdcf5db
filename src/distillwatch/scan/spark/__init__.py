"""The Spark back end of ``scan`` (``distillwatch scan --engine spark``).

One file per thing: :mod:`.session` starts Spark, :mod:`.splits` cuts the input into tasks,
:mod:`.tasks` is what a task runs, :mod:`.enrich` drives the pass over the logs,
:mod:`.summary` counts it, :mod:`.dialect` turns the DuckDB SQL into Spark SQL,
:mod:`.connection` runs it, :mod:`.progress` reports, :mod:`.run` puts them together.
PySpark is imported only when a Spark scan runs (the ``spark`` extra).

:func:`run_spark_scan` is imported on first use (PEP 562): every ``distillwatch scan``
imports :mod:`.session` for :class:`SparkSetupError`, which runs this file, and :mod:`.run`
would bring SQLGlot with it (0.12 CPU s) to a DuckDB scan that never uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distillwatch.scan.spark.session import SparkSetupError

if TYPE_CHECKING:
    from distillwatch.scan.spark.run import run_spark_scan

__all__ = ["SparkSetupError", "run_spark_scan"]


def __getattr__(name: str) -> Any:
    if name == "run_spark_scan":
        from distillwatch.scan.spark.run import run_spark_scan  # local: brings SQLGlot

        return run_spark_scan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
