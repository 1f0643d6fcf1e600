"""The sweep's plan as the store holds it (``spaces.SweepPlan.to_dict``), read in one place.

The engine stores the plan beside the spec. A sweep recorded without one (a store written by
hpo 0.1, a bare callback) gets the few facts a report needs (planned trials, the per-trial cap,
resources) taken as plain data from the stored spec: no scheduler or space rule is re-derived.
"""

from __future__ import annotations

from typing import Any

from hpo.results.store.records import SweepRecord, finite

__all__ = ["Resources", "plan_of", "resources_of"]


def plan_of(record: SweepRecord, spec: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The sweep's plan dict; a partial one from ``spec`` when the store holds none; None without either."""
    plan = getattr(record, "plan", None)
    if isinstance(plan, dict):
        return plan
    if not spec:
        return None
    search = spec.get("search") if isinstance(spec.get("search"), dict) else {}
    resources = spec.get("resources") if isinstance(spec.get("resources"), dict) else {}
    trials = search.get("num_samples")
    return {
        "trials": int(trials) if isinstance(trials, int) and not isinstance(trials, bool) else None,
        "trial_cap": record.max_t,
        "time_attr": "training_iteration",
        "resources": {"cpu": finite(resources.get("cpu")) or 1.0, "gpu": finite(resources.get("gpu")) or 0.0,
                      "workers": int(resources.get("workers") or 1)},
        "metric": record.metric,
        "mode": record.mode,
        "partial": True,  # read from the spec: no budget, rungs or axes
    }


class Resources:
    """CPUs and GPUs one trial holds (per worker times workers)."""

    def __init__(self, *, cpu: float, gpu: float, workers: int = 1) -> None:
        self.cpu = cpu * max(1, workers)
        self.gpu = gpu * max(1, workers)


def resources_of(plan: dict[str, Any] | None) -> Resources | None:
    """A trial's resources from the plan, None when unknown."""
    if not plan or not isinstance(plan.get("resources"), dict):
        return None
    res = plan["resources"]
    return Resources(cpu=finite(res.get("cpu")) or 0.0, gpu=finite(res.get("gpu")) or 0.0,
                     workers=int(res.get("workers") or 1))
