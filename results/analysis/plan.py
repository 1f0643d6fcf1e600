"""The sweep's plan as the store holds it (``spaces.SweepPlan.to_dict``), read in one place: its searched
axes, rungs, budget and resources, for the report, the dashboard and the analysis alike.

The engine stores the plan beside the spec. A sweep recorded without one (a store written by
hpo 0.1, a bare callback) gets the few facts a report needs (planned trials, the per-trial cap,
resources) taken as plain data from the stored spec: no scheduler or space rule is re-derived, so it
has no budget, rungs or axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpo.results.store.records import SweepRecord, finite

__all__ = ["Budget", "ParamAxis", "Resources", "axes_of", "budget_of", "plan_of", "resources_of", "rungs_of"]


@dataclass(frozen=True)
class ParamAxis:
    """One hyperparameter as a plot axis (from the sweep's plan): dotted config key, log scale,
    categorical, powers of two."""

    key: str
    log: bool = False
    categorical: bool = False
    base2: bool = False


@dataclass(frozen=True)
class Budget:
    """The plan's budget in ``time_attr`` units: ``full`` with no early stopping, ``expected`` when each
    rung keeps its share; None where the plan has none (a partial plan, or a store without one)."""

    full: int | None
    expected: int | None


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


def _whole(value: Any) -> int | None:
    number = finite(value)
    return int(number) if number is not None and number == int(number) else None


def budget_of(plan: dict[str, Any] | None) -> Budget:
    """The budget the plan recorded (``budget_full``, ``budget_expected``): read, never re-derived."""
    plan = plan or {}
    return Budget(full=_whole(plan.get("budget_full")), expected=_whole(plan.get("budget_expected")))


def rungs_of(plan: dict[str, Any] | None) -> list[int]:
    """Where the scheduler could stop trials, then the per-trial cap, as the plan has them; [] for a
    scheduler without rungs, or a plan without them (a partial plan)."""
    plan = plan or {}
    milestones = [int(r) for r in plan.get("rungs") or ()]
    if not milestones or plan.get("trial_cap") is None:
        return []
    return [*milestones, int(plan["trial_cap"])]


def axes_of(plan: dict[str, Any] | None) -> list[ParamAxis] | None:
    """The searched hyperparameters as the plan lists them; None when the plan does not list them."""
    if not plan or plan.get("axes") is None:
        return None
    return [ParamAxis(str(a["name"]), log=bool(a.get("log")), categorical=a.get("categories") is not None,
                      base2=bool(a.get("base2"))) for a in plan.get("axes", ()) if isinstance(a, dict) and "name" in a]
