"""CPU-hours and GPU-hours: a trial's resources (from the plan) times its wall time, computed at read time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpo.results.analysis.plan import plan_of, resources_of
from hpo.results.store.records import SweepRecord, TrialRecord

__all__ = ["Cost", "sweep_cost", "trial_cost"]


@dataclass(frozen=True)
class Cost:
    """Resource-hours; None when the sweep's resources are unknown."""

    cpu_hours: float | None
    gpu_hours: float | None

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready."""
        return {"cpu_hours": self.cpu_hours, "gpu_hours": self.gpu_hours}


def trial_cost(trial: TrialRecord, plan: dict[str, Any] | None) -> Cost:
    """One trial's cost: resources × (ended − started), to now while it runs."""
    res = resources_of(plan)
    hours = (trial.duration_s or 0.0) / 3600.0
    if res is None:
        return Cost(None, None)
    return Cost(res.cpu * hours, res.gpu * hours)


def sweep_cost(sweep: SweepRecord, trials: list[TrialRecord], spec: dict[str, Any] | None = None) -> Cost:
    """A sweep's cost: the sum over its trials."""
    plan = plan_of(sweep, spec)
    if resources_of(plan) is None:
        return Cost(None, None)
    costs = [trial_cost(t, plan) for t in trials]
    return Cost(sum(c.cpu_hours or 0.0 for c in costs), sum(c.gpu_hours or 0.0 for c in costs))
