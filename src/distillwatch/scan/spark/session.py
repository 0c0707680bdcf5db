"""Start (or join) the Spark session a scan runs in, and say clearly why it cannot.

Spark needs a Java runtime (17 or newer for PySpark 4) and the ``pyspark`` package (the
``spark`` extra). Either missing is a :class:`SparkSetupError` naming what to install, raised
before anything is read. In local mode (``local[N]``) everything binds to the loopback
address (``SPARK_LOCAL_IP=127.0.0.1``) and the Python workers run this interpreter, so they
import the same distillwatch.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Java releases PySpark 4 runs on.
MIN_JAVA = 17
DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "1g"
#: The JVM's options in local mode: only the quick JIT compiler and one GC thread. Measured
#: (whole process tree, same output files): a scan of 21,737 requests 84 -> 42-45 CPU s, of
#: 1,127,007 requests 247 -> 203 CPU s (benchmarks/results/scan-spark.md). On a cluster the
#: work runs in the executors' JVMs, which these do not touch.
LOCAL_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: Spark SQL's warehouse directory, under the temporary directory (a scan saves no tables).
WAREHOUSE = "distillwatch-spark-warehouse"


class SparkSetupError(RuntimeError):
    """Spark cannot start here: what is missing and how to get it."""


def java_version() -> int:
    """The major version of the ``java`` on ``JAVA_HOME`` or ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise SparkSetupError(
            f"--engine spark needs a Java runtime ({MIN_JAVA} or newer) and none was found "
            "on JAVA_HOME or PATH: install one (Debian/Ubuntu: "
            "apt-get install -y default-jre-headless), or scan with --engine duckdb"
        )
    try:
        shown = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SparkSetupError(f"--engine spark: cannot run {java} -version: {exc}") from exc
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if found is None:
        raise SparkSetupError(f"--engine spark: cannot read the Java version from: {shown!r}")
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def local_cores(master: str) -> int:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if found is not None and found.group(1) is None:
        return 1  # plain "local"
    if found is not None and found.group(1) != "*":
        return int(found.group(1))
    return os.cpu_count() or 1


def spark_session(
    master: str = DEFAULT_MASTER,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    java_options: str | None = None,
) -> SparkSession:
    """The active session, or a new one on ``master`` (``local[N]``, ``spark://...``, ...).

    ``java_options``: options for the driver's JVM; by default :data:`LOCAL_JAVA_OPTIONS`
    in local mode and none on a cluster.

    A session that already runs in this process is reused as it is (a JVM per process): its
    master and memory are the ones it was started with.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the extra is not installed
        raise SparkSetupError(
            "--engine spark needs PySpark: pip install 'distillwatch[spark]' "
            f"(or `make install`); import failed: {exc}"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    version = java_version()
    if version < MIN_JAVA:
        raise SparkSetupError(
            f"--engine spark needs Java {MIN_JAVA} or newer, found Java {version}: install "
            "a newer runtime (apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
        )
    local = master.startswith("local")
    if java_options is None:
        java_options = LOCAL_JAVA_OPTIONS if local else ""
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    logging = Path(__file__).with_name("log4j2.properties").as_uri()
    builder = (
        SparkSession.builder.appName("distillwatch-scan")
        .master(master)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.python.worker.reuse", "true")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dlog4j2.configurationFile={logging} {java_options}".strip(),
        )
        # Spark makes its (unused) warehouse directory at start: not in the user's directory
        .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), WAREHOUSE))
    )
    if local:  # loopback only; as many shuffle partitions as cores (Spark's 200 is for
        # clusters: on one machine each is a task's overhead for every query)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(local_cores(master)))
        )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Py4J and Java say why
        raise SparkSetupError(f"--engine spark: Spark did not start on {master}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _active() -> SparkSession | None:
    """The session running in this process, if any (None without PySpark too)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def stop_spark(session: SparkSession) -> None:
    """Stop ``session`` and end the JVM this process started for it.

    ``SparkSession.stop`` leaves the JVM (its heap and the daemon of the Python workers)
    running for as long as this process lives; closing the JVM's standard input ends it
    (PySpark's gateway exits at end of input). A JVM this process did not start (one named
    by ``PYSPARK_GATEWAY_PORT``) is left alone.
    """
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process: subprocess.Popen[bytes] | None = getattr(gateway, "proc", None)
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if process is not None and process.stdin is not None:
        process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _jvm_running() -> bool:
    """Whether this process already talks to a Spark JVM (with or without a session)."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return False
    return SparkContext._gateway is not None


@contextmanager
def scan_session(
    master: str = DEFAULT_MASTER, driver_memory: str = DEFAULT_DRIVER_MEMORY
) -> Iterator[SparkSession]:
    """The session for one scan: the active one, kept running afterwards, or a new one on
    ``master``, stopped when the scan is done -- its JVM with it, if the scan started it."""
    if (active := _active()) is not None:
        yield active
        return
    started_jvm = not _jvm_running()
    session = spark_session(master, driver_memory)
    try:
        yield session
    finally:
        if started_jvm:
            stop_spark(session)
        else:
            session.stop()


__all__ = [
    "DEFAULT_DRIVER_MEMORY",
    "DEFAULT_MASTER",
    "LOCAL_JAVA_OPTIONS",
    "SparkSetupError",
    "java_version",
    "scan_session",
    "spark_session",
    "stop_spark",
]
