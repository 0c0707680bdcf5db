"""The Spark back end of ``scan`` (``distillwatch scan --engine spark``).

One file per thing: :mod:`.session` starts Spark, :mod:`.splits` cuts the input into tasks,
:mod:`.tasks` is what a task runs, :mod:`.enrich` drives the pass over the logs,
:mod:`.summary` counts it, :mod:`.dialect` turns the DuckDB SQL into Spark SQL,
:mod:`.connection` runs it, :mod:`.progress` reports, :mod:`.run` puts them together.
PySpark is imported only when a Spark scan runs (the ``spark`` extra).
"""

from __future__ import annotations

from distillwatch.scan.spark.run import run_spark_scan
from distillwatch.scan.spark.session import SparkSetupError

__all__ = ["SparkSetupError", "run_spark_scan"]
