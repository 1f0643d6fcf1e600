"""The sweep's driver in the store: who runs it, a heartbeat while it does, and whether it still lives.

A driver records its host, pid and Ray Job id when it starts, then stamps a heartbeat every
``HEARTBEAT_EVERY_S`` from a daemon thread. A sweep recorded ``running`` whose heartbeat went
stale lost its driver (killed, machine gone): ``hpo ls`` shows it ``lost`` and it may be resumed.
A driver that outlives its Ray cluster records the loss itself: the heartbeat tells the cluster's
watch (``hpo.search.cluster.watch``) which sweep to mark ``interrupted``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import TracebackType

from hpo.results import HEARTBEAT_EVERY_S, HEARTBEAT_STALE_S, Store, StoreError, SweepRecord
from hpo.search.cluster.watch import attach_sweep
from hpo.search.errors import SweepInputError

__all__ = ["JOB_ADDRESS_ENV", "JOB_ID_ENV", "Heartbeat", "check_not_running", "driver_alive", "driver_where",
           "this_host"]

logger = logging.getLogger(__name__)

JOB_ID_ENV = "HPO_JOB_ID"  # set by `hpo submit` in the job's environment: the Ray Job's submission id
JOB_ADDRESS_ENV = "HPO_JOB_ADDRESS"  # and the job server it was submitted to


def this_host() -> str:
    """This machine's host name, as drivers record it."""
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def driver_alive(record: SweepRecord) -> bool:
    """Whether the sweep's driver still runs: heartbeat fresh and, on this host, its pid alive.

    A sweep from an hpo that kept no heartbeat (or a bare callback's row) counts as not alive.
    """
    if record.status != "running" or record.heartbeat_age_s is None:
        return False
    if record.heartbeat_age_s > HEARTBEAT_STALE_S:
        return False
    if record.driver_host == this_host() and record.driver_pid is not None:
        return _pid_alive(record.driver_pid)
    return True


def driver_where(record: SweepRecord) -> str:
    """Where the sweep's driver runs, for a line that refuses to touch a live sweep: ``pid N on HOST[, Ray job J]``."""
    where = f"pid {record.driver_pid} on {record.driver_host}"
    return f"{where}, Ray job {record.job_id}" if record.job_id else where


def check_not_running(record: SweepRecord) -> None:
    """Refuse to resume (or re-submit) a sweep whose driver is still alive, saying how to stop it.

    Raises:
        SweepInputError: the driver lives (one line naming host, pid or job, and the way to stop it).
    """
    if not driver_alive(record):
        return
    raise SweepInputError(
        f"sweep {record.name!r} is still running ({driver_where(record)}, "
        f"heartbeat {record.heartbeat_age_s:.0f} s ago); stop it with `hpo stop {record.name}`, then resume it")


class Heartbeat:
    """Records the driver on enter and stamps the sweep's heartbeat until exit (a daemon thread).

    A failed stamp is logged once and retried at the next beat: the sweep goes on. On enter it also names
    the sweep to the watch on the process's Ray cluster, if one runs, for as long as that Ray is up (a
    cluster lost while the driver shuts Ray down still marks the sweep).
    """

    def __init__(self, store: Store, name: str, *, every_s: float = HEARTBEAT_EVERY_S) -> None:
        self._store = store
        self._name = name
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        job_id = os.environ.get(JOB_ID_ENV) or None
        if job_id and threading.current_thread() is threading.main_thread():
            # Ray blocks SIGINT in the processes it starts, a job's driver included; `hpo stop` stops a
            # job with SIGINT, which Tune turns into a graceful end (state saved, sweep interrupted).
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        address = os.environ.get(JOB_ADDRESS_ENV) or None if job_id else None
        self._store.set_driver(self._name, host=this_host(), pid=os.getpid(), job_id=job_id, job_address=address)
        attach_sweep(self._store, self._name)
        self._thread = threading.Thread(target=self._beat, name=f"hpo-heartbeat-{self._name}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        warned = False
        while not self._stop.wait(self._every_s):
            try:
                self._store.heartbeat(self._name)
            except StoreError as exc:
                if not warned:
                    logger.warning("could not stamp the heartbeat of sweep %r, will retry: %s", self._name, exc)
                    warned = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._every_s + 5)
