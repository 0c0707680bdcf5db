"""Worker processes that end when the process that started their pool ends.

A scan killed with SIGKILL (an out-of-memory kill, a CI timeout, ``kill -9``) cannot shut its
pool down, and its ``forkserver`` does not notice either: the workers it forked carry on with
the chunk they hold and then wait for more, and a 2-core machine spends minutes on work nobody
will read. :func:`die_with` is a pool ``initializer`` that closes that gap: a daemon thread in
each worker that waits for the pool's owner to exit, then ends the worker.
"""

from __future__ import annotations

import os
import select
import threading
import time


def _wait_for_exit(pid: int, every: float) -> None:
    """Block until process ``pid`` has exited.

    A pidfd (Linux 5.3+) becomes readable when its process exits and cannot be fooled by the
    pid being reused; elsewhere the pid is polled every ``every`` seconds.
    """
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        select.select([fd], [], [])
        return
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass  # alive, owned by someone else: keep waiting
        time.sleep(every)


def _watch(owner: int, every: float) -> None:
    _wait_for_exit(owner, every)
    os._exit(1)  # no cleanup handlers: the results have nowhere to go


def die_with(owner: int, every: float = 1.0) -> None:
    """Pool initializer: end this worker when process ``owner`` (the pool's creator) ends.

    Pass ``initializer=die_with, initargs=(os.getpid(),)`` to the pool.
    """
    threading.Thread(target=_watch, args=(owner, every), daemon=True, name="die-with").start()
