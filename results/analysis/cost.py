"""CPU-hours and GPU-hours: a trial's resources (from the plan) times its wall time, computed at read time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hpo.results.analysis.plan import plan_of, resources_of
from hpo.results.store.records import SweepRecord, TrialRecord

__all__ = ["Cost", "sweep_cost", "trial_cost"]


@dataclass(frozen=True)
class Cost:
    """Resource-hours; None when the sweep's resources are unknown.

    ``gpu_kind`` is the sweep's (``SweepRecord.gpu_kind``): ``logical`` when its GPUs were declared with
    ``cluster.num_gpus`` on a machine whose CUDA saw fewer, so the GPU-hours are Ray's bookkeeping and no trial
    ran on a GPU; every display of the GPU-hours says so (:attr:`gpu_note`). JSON carries it in the sweep's record.
    """

    cpu_hours: float | None
    gpu_hours: float | None
    gpu_kind: str | None = None

    @property
    def gpu_note(self) -> str:
        """`` (logical)`` after GPU-hours that are Ray's bookkeeping only; empty otherwise."""
        return " (logical)" if self.gpu_kind == "logical" else ""

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready."""
        return {"cpu_hours": self.cpu_hours, "gpu_hours": self.gpu_hours}


def trial_cost(trial: TrialRecord, plan: dict[str, Any] | None, *, until: datetime | None = None) -> Cost:
    """One trial's cost: resources × (ended − started); a trial with no end counts to ``until`` (its sweep's
    ``ended_at``: a lost sweep's last heartbeat), or to now while its sweep runs."""
    res = resources_of(plan)
    if res is None:
        return Cost(None, None)
    if trial.ended is None and until is not None and trial.started is not None:
        seconds = max(0.0, (until - trial.started).total_seconds())
    else:
        seconds = trial.duration_s or 0.0
    hours = seconds / 3600.0
    return Cost(res.cpu * hours, res.gpu * hours)


def sweep_cost(sweep: SweepRecord, trials: list[TrialRecord], spec: dict[str, Any] | None = None) -> Cost:
    """A sweep's cost: the sum over its trials (those still marked running counted to the sweep's end, so a
    lost sweep's cost stops with its duration)."""
    plan = plan_of(sweep, spec)
    if resources_of(plan) is None:
        return Cost(None, None, sweep.gpu_kind)
    costs = [trial_cost(t, plan, until=sweep.ended_at) for t in trials]
    return Cost(sum(c.cpu_hours or 0.0 for c in costs), sum(c.gpu_hours or 0.0 for c in costs), sweep.gpu_kind)
