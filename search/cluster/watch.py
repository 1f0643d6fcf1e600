"""The driver's watch on its Ray cluster: a lost cluster ends the sweep in hpo's words, not Ray's.

When the GCS of the Ray instance a driver runs on stops answering (the head node killed, its machine
gone), Ray's core worker keeps trying for ``gcs_rpc_server_reconnect_timeout_s`` (60 s by default), then
ends the process itself with its own log line (``Failed to connect to GCS within 60 seconds ... The
program will terminate``) and exit code 1, leaving the sweep's row ``running``. The watch started with
the Ray hpo started or joined probes the GCS's port every :data:`PROBE_EVERY_S` seconds; once the GCS
has not answered for ``$HPO_CLUSTER_TIMEOUT_S`` seconds (default :data:`DEFAULT_LOST_AFTER_S`, kept
under Ray's own limit), it marks the sweep ``interrupted`` with the reason, says so in one line, and
ends the process with :data:`EXIT_LOST` before Ray would. ``hpo resume NAME`` continues the sweep once a
cluster is up again.

The process has to end from the watch's thread: the sweep's own thread is blocked in Ray's calls, which
neither return nor raise while the GCS is gone. Ray is process-wide, and so is its watch: at most one
runs, started by ``hpo.search.cluster.local.ensure_ray`` and told the sweep it guards by the driver's
heartbeat (:func:`attach_sweep`); it ends with ``ray.shutdown()``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hpo.results import Store, mask_url
from hpo.search.errors import SweepInputError

__all__ = [
    "DEFAULT_LOST_AFTER_S",
    "EXIT_LOST",
    "LOST_AFTER_ENV",
    "PROBE_EVERY_S",
    "ClusterWatch",
    "attach_sweep",
    "gcs_answers",
    "lost_after",
    "lost_line",
    "start_watch",
]

logger = logging.getLogger(__name__)

LOST_AFTER_ENV = "HPO_CLUSTER_TIMEOUT_S"
# Long enough for a GCS that restarts (GCS fault tolerance) to come back; short enough to end the
# driver before Ray's core worker does (its gcs_rpc_server_reconnect_timeout_s, 60 s by default).
DEFAULT_LOST_AFTER_S = 20.0
PROBE_EVERY_S = 2.0
EXIT_LOST = 130  # the sweep is interrupted, as after Ctrl-C: `hpo resume NAME` continues it
_RAY_TIMEOUT_ENV = "RAY_gcs_rpc_server_reconnect_timeout_s"
_RAY_TIMEOUT_S = 60.0  # its default (Ray 2.60)
_MARK_WAIT_S = 10.0  # a store that does not answer either must not hold the process


def lost_after() -> float | None:
    """Seconds without an answer from the GCS before the cluster counts as lost; None: never (Ray decides).

    ``$HPO_CLUSTER_TIMEOUT_S`` (default 20; ``0`` leaves it to Ray), at most half of Ray's own limit
    (``RAY_gcs_rpc_server_reconnect_timeout_s``, 60 s by default), so the watch still speaks first.

    Raises:
        SweepInputError: the variable is not a number of seconds >= 0.
    """
    raw = os.environ.get(LOST_AFTER_ENV)
    value = DEFAULT_LOST_AFTER_S
    if raw is not None and raw.strip():
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise SweepInputError(f"{LOST_AFTER_ENV}: expected seconds >= 0 (0 leaves a lost cluster to Ray), "
                                  f"got {raw!r}")
    if not value:
        return None
    try:
        ray_limit = float(os.environ.get(_RAY_TIMEOUT_ENV) or _RAY_TIMEOUT_S)
    except ValueError:
        ray_limit = _RAY_TIMEOUT_S
    return min(value, ray_limit / 2) if ray_limit > 0 else value


def gcs_answers(address: str, *, timeout_s: float = PROBE_EVERY_S) -> bool:
    """Whether something accepts a TCP connection at the GCS's ``host:port`` within ``timeout_s``."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def lost_line(*, where: str, silent_s: float, sweep: str | None, marked: bool, local: bool = False) -> str:
    """The one line a driver that lost its cluster ends with.

    Args:
        where: The cluster, as shown (``the Ray cluster at HOST:PORT``).
        silent_s: How long its GCS had not answered (the watch's window: it had been silent at least that long).
        sweep: The sweep this driver ran, if it had started.
        marked: Whether the store now records it ``interrupted``.
        local: ``where`` is the sweep's own local Ray: a resume starts a new one, no cluster to wait for.
    """
    head = f"hpo: lost {where} (its GCS gave no answer for {silent_s:g} s)"
    when = "" if local else " once the cluster is up"
    if sweep is None:
        return f"{head} before the sweep started; run the command again{when}"
    state = ("is marked interrupted in the store" if marked
             else "could not be marked in the store (`hpo ls` shows it lost)")
    return f"{head}; sweep {sweep} {state}: continue it with `hpo resume {sweep}`{when}"


@dataclass
class _Sweep:
    store: Store
    name: str


class ClusterWatch:
    """Probes one GCS from a daemon thread and ends the process once it is lost (see the module's docstring).

    Args:
        gcs: The GCS's ``host:port``.
        where: The cluster in words, for the line (``the Ray cluster at ...``, ``this sweep's local Ray ...``).
        lost_after_s: Seconds without an answer that make it lost.
        every_s: Seconds between probes.
        active: Whether the Ray it watches is still up (default ``ray.is_initialized``): once it is not
            (``ray.shutdown()``), the watch ends without a word.
        local: The Ray is the sweep's own local instance (see :func:`lost_line`).
    """

    def __init__(self, gcs: str, *, where: str, lost_after_s: float, every_s: float = PROBE_EVERY_S,
                 active: Callable[[], bool] | None = None, local: bool = False) -> None:
        self.gcs = gcs
        self.where = where
        self.local = local
        self.lost_after_s = lost_after_s
        self.every_s = every_s
        self._active = active
        self._sweep: _Sweep | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpo-cluster-watch", daemon=True)

    def start(self) -> ClusterWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the watch (idempotent); the process goes on."""
        self._stop.set()

    def attach(self, store: Store, name: str) -> None:
        """The sweep to mark ``interrupted`` should the cluster be lost."""
        self._sweep = _Sweep(store, name)

    def _run(self) -> None:
        if self._active is None:
            import ray

            self._active = ray.is_initialized
        answered = time.monotonic()
        while not self._stop.wait(self.every_s):
            if not self._active():  # ray.shutdown(): the sweep is over, and so is the watch
                return
            if gcs_answers(self.gcs, timeout_s=min(self.every_s, 5.0)):
                answered = time.monotonic()
                continue
            if time.monotonic() - answered >= self.lost_after_s and not self._stop.is_set():
                self._end(self.lost_after_s)

    def _end(self, silent_s: float) -> None:
        """Mark the sweep, say the one line, and end the process: Ray's own end would come next."""
        sweep = self._sweep
        marked = sweep is not None and self._mark(sweep, silent_s)
        line = lost_line(where=self.where, silent_s=silent_s, sweep=sweep.name if sweep else None, marked=marked,
                         local=self.local)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        try:
            os.write(2, (line + "\n").encode())
        finally:
            os._exit(EXIT_LOST)  # ends the process at once, whatever its other threads are doing

    def _mark(self, sweep: _Sweep, silent_s: float) -> bool:
        """``interrupted`` with the reason, in a thread of its own so that a store that hangs too cannot hold
        the process past :data:`_MARK_WAIT_S`."""
        done = threading.Event()
        reason = f"{self.where} was lost: its GCS gave no answer for {silent_s:g} s"

        def mark() -> None:
            try:
                sweep.store.finish_sweep(sweep.name, "interrupted", reason=reason)
                done.set()
            except Exception:  # the store is gone too: `hpo ls` shows the sweep lost
                logger.debug("could not mark sweep %r interrupted", sweep.name, exc_info=True)

        marker = threading.Thread(target=mark, name="hpo-cluster-lost", daemon=True)
        marker.start()
        marker.join(_MARK_WAIT_S)
        return done.is_set()


_LOCK = threading.Lock()
_CURRENT: list[ClusterWatch] = []  # the process's one watch, while Ray is up


def start_watch(*, joined: str | None, lost_after_s: float | None) -> ClusterWatch | None:
    """Start watching the GCS of the Ray this process just joined (``joined``: the address as the user gave
    it, which the line names) or started (``joined=None``); None when ``lost_after_s`` is None (see
    :func:`lost_after`, read before Ray starts) or Ray does not say where its GCS is (Ray Client)."""
    import ray

    gcs = _gcs_address(ray)
    if lost_after_s is None or not gcs:
        return None
    where = f"the Ray cluster at {mask_url(joined)}" if joined else f"this sweep's local Ray at {gcs}"
    watch = ClusterWatch(gcs, where=where, lost_after_s=lost_after_s, local=joined is None)
    with _LOCK:
        for old in _CURRENT:
            old.stop()
        _CURRENT[:] = [watch]
    return watch.start()


def attach_sweep(store: Store, name: str) -> None:
    """Tell the process's watch, if one runs, which sweep to mark should the cluster be lost."""
    with _LOCK:
        watch = _CURRENT[0] if _CURRENT else None
    if watch is not None:
        watch.attach(store, name)


def _gcs_address(ray: Any) -> str | None:
    try:
        return str(ray.get_runtime_context().gcs_address) or None
    except Exception:  # Ray Client: the runtime context has no GCS of its own to give
        logger.debug("no GCS address to watch", exc_info=True)
        return None
