"""Progress of a Spark job as ``on_progress(done, total)``, the callback ``scan`` shows.

Spark runs a job's tasks out of reach of the caller, so a thread polls Spark's status tracker
(no web UI needed) for the finished tasks of the jobs in one job group and reports that share
of ``total`` (the input bytes: a task is a split of roughly equal bytes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ProgressCallback = Callable[[int, int], None]
#: Seconds between two polls.
POLL_SECONDS = 0.5


def _tasks(spark: SparkSession, group: str) -> tuple[int, int]:
    """(finished, all) tasks of the job group's stages so far."""
    tracker = spark.sparkContext.statusTracker()
    done = total = 0
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        for stage_id in job.stageIds if job is not None else ():
            stage = tracker.getStageInfo(stage_id)
            if stage is not None:
                done += stage.numCompletedTasks
                total += stage.numTasks
    return done, total


@contextmanager
def job_progress(
    spark: SparkSession, group: str, on_progress: ProgressCallback | None, total: int
) -> Iterator[None]:
    """Run the body's Spark jobs in job group ``group``, reporting progress meanwhile."""
    context = spark.sparkContext
    context.setJobGroup(group, f"distillwatch {group}")
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_SECONDS):
            done, tasks = _tasks(spark, group)
            if tasks and on_progress is not None:
                on_progress(total * done // tasks, total)

    thread = threading.Thread(target=poll, name=f"progress-{group}", daemon=True)
    if on_progress is not None:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    if on_progress is not None:
        on_progress(total, total)


__all__ = ["job_progress"]
