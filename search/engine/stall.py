"""Ending a sweep that can make no progress, with one line saying why.

Tune waits forever when no trial can be placed: a node left the cluster, other work holds the
CPUs, or Tune itself lost track of an actor. Ray only logs a warning. :class:`StallWatch` is a
driver-side Tune callback that raises :class:`SweepStalled` once nothing has run and no trial
has changed status for ``HPO_STALL_TIMEOUT_S`` seconds while trials wait; the engine turns that
(a ``SweepEnded``, as ``hpo.search.engine.fail_fast``'s end is) into a failed sweep whose
``reason`` comes from :func:`diagnose`. It raises only after Tune has
snapshotted the stalled state, so ``hpo resume`` starts from it once the cause is gone.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback

from hpo.search.engine.callbacks import SweepEnded
from hpo.search.errors import SweepInputError

__all__ = [
    "DEFAULT_STALL_TIMEOUT_S",
    "STALL_TIMEOUT_ENV",
    "ClusterView",
    "StallWatch",
    "SweepStalled",
    "cluster_view",
    "diagnose",
    "own_placements_ready",
    "stall_timeout",
]

logger = logging.getLogger(__name__)

STALL_TIMEOUT_ENV = "HPO_STALL_TIMEOUT_S"
# Well above Ray's own 60 s "insufficient resources" warning and its >= 10 s snapshot period,
# so a Trainable whose setup() is merely slow is not taken for a stuck sweep.
DEFAULT_STALL_TIMEOUT_S = 300.0

_WAITING = ("PENDING", "PAUSED")
# A trial whose resources Ray already reserved is an actor being built (setup() runs before Tune
# sees it start): slow, not stuck, so it gets this many timeouts before the sweep is ended.
_STARTING_FACTOR = 4
_EPS = 1e-9
_LOOK_EVERY_S = 1.0


class SweepStalled(SweepEnded):
    """Raised inside Tune's loop when the sweep can make no progress; ``str()`` is one line."""

    verb = "stalled"


def stall_timeout() -> float | None:
    """Seconds without progress before a sweep is ended (``$HPO_STALL_TIMEOUT_S``); None: never.

    Raises:
        SweepInputError: The variable is not a number of seconds >= 0.
    """
    raw = os.environ.get(STALL_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_STALL_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SweepInputError(
            f"{STALL_TIMEOUT_ENV}: expected seconds >= 0 (0 never ends a stalled sweep), got {raw!r}"
        )
    return value or None


@dataclass(frozen=True)
class ClusterView:
    """The Ray cluster's resources when a stall is diagnosed.

    Attributes:
        nodes: Total resources of each alive node.
        free: Resources free across the cluster now.
        total: Resources of the whole cluster.
    """

    nodes: tuple[Mapping[str, float], ...]
    free: Mapping[str, float]
    total: Mapping[str, float]


def cluster_view() -> ClusterView:
    """Read the connected Ray cluster's resources (public ``ray`` calls only)."""
    import ray

    nodes = tuple(
        {k: float(v) for k, v in node.get("Resources", {}).items()}
        for node in ray.nodes()
        if node.get("Alive", node.get("alive", False))
    )
    return ClusterView(
        nodes=nodes,
        free={k: float(v) for k, v in ray.available_resources().items()},
        total={k: float(v) for k, v in ray.cluster_resources().items()},
    )


def own_placements_ready() -> bool:
    """Whether a placement group of this driver's Ray job holds its resources (Tune's trial actors).

    A placement group's id ends with its job's id (Ray's ID layout), which is how other jobs'
    groups on a shared cluster are told apart without the dashboard's state API.
    """
    import ray

    job = ray.get_runtime_context().get_job_id()
    return any(
        pg_id.endswith(job) and info.get("state") == "CREATED"
        for pg_id, info in ray.util.placement_group_table().items()
    )


def _amount(name: str, value: float) -> str:
    return f"{value:g} {name}"


def _ask(request: Mapping[str, float]) -> str:
    return " and ".join(_amount(k, v) for k, v in request.items())


def diagnose(
    request: Mapping[str, float], view: ClusterView, *, waited_s: float, name: str, starting: bool = False
) -> str:
    """One line: why no trial asking for ``request`` started in ``waited_s`` s, and what to do.

    Args:
        request: One waiting trial's resources, Ray's names (``{"CPU": 1.0, "GPU": 0.5}``).
        view: The cluster as :func:`cluster_view` read it.
        waited_s: How long nothing has run.
        name: The sweep's name, for the resume hint.
        starting: Ray reserved some trial's resources, yet its actor never started.
    """
    request = {k: float(v) for k, v in request.items() if float(v) > 0}
    head = f"no trial could start for {waited_s:.0f} s: each trial asks for {_ask(request) or 'nothing'}"
    resume = f"then `hpo resume {name}`"
    if starting:
        return (
            f"{head}; Ray reserved them but the trial's actor never started (a Trainable whose setup() "
            f"does not return?); fix it, {resume}"
        )
    if not any(all(node.get(k, 0.0) + _EPS >= v for k, v in request.items()) for node in view.nodes):
        lacking = [k for k, v in request.items() if max((n.get(k, 0.0) for n in view.nodes), default=0.0) + _EPS < v]
        if not view.nodes:
            where = "the Ray cluster has no alive node"
        elif lacking:
            most = ", ".join(_amount(k, max(n.get(k, 0.0) for n in view.nodes)) for k in lacking)
            where = f"no node of the Ray cluster has that much {' or '.join(lacking)} (largest: {most})"
        else:
            where = "no node of the Ray cluster has them together"
        return f"{head}, but {where}; add a node that has them, or lower resources, {resume}"
    short = [k for k, v in request.items() if view.free.get(k, 0.0) + _EPS < v]
    if short:
        free = ", ".join(f"{view.free.get(k, 0.0):g} of {view.total.get(k, 0.0):g} {k}" for k in short)
        return f"{head}, but the Ray cluster has {free} free (held by other work); free them, {resume}"
    return (
        f"{head}; the Ray cluster has them free ({_ask({k: view.free.get(k, 0.0) for k in request})}) "
        f"but Ray Tune placed no trial; {resume} to try again"
    )


class StallWatch(Callback):
    """Raises :class:`SweepStalled` when trials wait, none runs and none changes status for too long.

    Runs in the driver, bound through ``hpo.search.engine.callbacks.LiveCallbacks`` like the store's
    callback; place it last so the others see every step first.
    """

    def __init__(self, *, name: str, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.timeout_s = float(timeout_s)
        self._clock = clock
        self._state: tuple[tuple[str, str], ...] | None = None
        self._since: float | None = None
        self._snapshot_at = -math.inf
        self._looked_at = -math.inf

    def flush(self) -> None:
        # LiveCallbacks calls flush() as Tune snapshots the experiment: remember when, so we only
        # end a sweep whose saved state already shows the stall (a resume then starts there).
        self._snapshot_at = self._clock()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        # Tune's loop steps many times a second and each look reads every trial: look at most every
        # _LOOK_EVERY_S (a tenth of the timeout when that is shorter), which the timeout dwarfs.
        now = self._clock()
        if now - self._looked_at < min(_LOOK_EVERY_S, self.timeout_s / 10):
            return
        self._looked_at = now
        if any(t.status == "RUNNING" for t in reversed(trials)):  # newest first: a running trial is found at once
            self._state = self._since = None
            return
        waiting = [t for t in trials if t.status in _WAITING]
        state = tuple((t.trial_id, t.status) for t in trials)
        if not waiting or state != self._state or self._since is None:
            self._state, self._since = state, now
            return
        waited = now - self._since
        if waited < self.timeout_s or self._snapshot_at <= self._since:
            return
        starting = own_placements_ready()
        if starting and waited < self.timeout_s * _STARTING_FACTOR:
            return
        request = waiting[0].placement_group_factory.required_resources
        shown = self.timeout_s * (_STARTING_FACTOR if starting else 1)
        reason = diagnose(request, cluster_view(), waited_s=shown, name=self.name, starting=starting)
        logger.warning("sweep %s stalled: %s", self.name, reason)
        raise SweepStalled(reason)
