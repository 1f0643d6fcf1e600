"""``SweepPlan``: what a validated spec will do, decided once and read by everyone after.

The dry run, the engine, the store callback, the live view and the reports all read the plan
(the store keeps it as JSON beside the spec), so the rules behind it (ASHA's rungs, the
per-trial cap, which schedulers stop early, a param's axis) live here and nowhere else.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hpo.spaces.models import SweepSpec
from hpo.spaces.mutations import mutable_paths
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param
from hpo.spaces.sampling import grid_size

__all__ = ["ParamAxis", "PlanResources", "SweepPlan", "build_plan"]

# Schedulers that stop trials before the cap: their rungs are where.
_RUNG_SCHEDULERS = ("asha", "hyperband")
_STOPS_EARLY = ("asha", "hyperband", "median")


@dataclass(frozen=True)
class ParamAxis:
    """One searched hyperparameter as trials report it (a dotted key of their config).

    Attributes:
        name: Dotted config key (``lr``, ``optimizer.momentum`` inside a choice of groups).
        kind: ``float``, ``int``, ``pow2``, ``choice`` or ``grid``.
        log: Searched on a log scale (``log: true``, and every ``pow2``).
        base2: Values are powers of two (label ticks 16, 32, 64, not 1.6e1).
        categories: The values of a ``choice``/``grid`` of constants; None for numeric axes.
        low: Lower bound of a numeric axis.
        high: Upper bound of a numeric axis.
    """

    name: str
    kind: str
    log: bool = False
    base2: bool = False
    categories: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    @property
    def categorical(self) -> bool:
        return self.categories is not None


@dataclass(frozen=True)
class PlanResources:
    """What one trial holds: ``workers`` processes of ``cpu`` CPUs and ``gpu`` GPUs each."""

    cpu: float
    gpu: float
    workers: int = 1

    @property
    def trial_cpus(self) -> float:
        return self.cpu * self.workers

    @property
    def trial_gpus(self) -> float:
        return self.gpu * self.workers


@dataclass(frozen=True)
class SweepPlan:
    """The plan of one sweep (frozen; ``to_dict``/``from_dict`` round-trip through JSON).

    Attributes:
        name: The sweep's name.
        trainable: The spec's trainable reference.
        metric: The metric optimised.
        mode: ``min`` or ``max``.
        trials: Trials the sweep starts (``num_samples`` x the grid size).
        trial_cap: The most ``time_attr`` units one trial may run (``max_t``, or a smaller ``stop``).
        time_attr: The result key that measures a trial's progress.
        scheduler: The scheduler's type.
        early_stopping: Whether the scheduler may stop a trial before ``trial_cap``.
        rungs: Where ASHA/Hyperband may stop a trial, all below ``trial_cap``; () for others.
        budget_full: ``trials * trial_cap``: the spend with no early stopping.
        budget_expected: The spend when each rung keeps the top ``1/reduction_factor``.
        axes: The searched hyperparameters.
        resources: What one trial holds.
        concurrency: Trials at once: ``search.max_concurrent``, else what the capacity holds;
            None while neither is known (a cluster not yet joined).
        stop: Every stop criterion, the cap included: a trial stops once ``result[k] >= v``.
        objectives: Every objective as ``(metric, mode)``; ``metric``/``mode`` are the first. With
            more than one, the sweep's answer is the Pareto set of the trials' last results.
        exploits: PBT/PB2: a trial may continue from another trial's checkpoint with mutated params
            (no trial is stopped early; checkpoints must outlive their trial's next report).
        perturbation_interval: PBT/PB2: ``time_attr`` units between exploits; None for others.
        mutations: PBT/PB2: the dotted params it mutates; () for others.
        scheduler_metric: The metric the scheduler ranks trials by when it is not ``metric``
            (``scheduler.metric``); None: the sweep's. The searcher, the store and the best trial
            stay on ``metric``.
        scheduler_mode: ``min`` or ``max`` with ``scheduler_metric``; None with it.
    """

    name: str
    trainable: str
    metric: str
    mode: str
    trials: int
    trial_cap: int
    time_attr: str
    scheduler: str
    early_stopping: bool
    rungs: tuple[int, ...]
    budget_full: int
    budget_expected: int
    axes: tuple[ParamAxis, ...]
    resources: PlanResources
    concurrency: int | None = None
    stop: dict[str, float] = field(default_factory=dict)
    objectives: tuple[tuple[str, str], ...] = ()
    exploits: bool = False
    perturbation_interval: int | None = None
    mutations: tuple[str, ...] = ()
    scheduler_metric: str | None = None
    scheduler_mode: str | None = None

    def __post_init__(self) -> None:
        if not self.objectives:  # a plan stored before objectives existed: the one metric
            object.__setattr__(self, "objectives", ((self.metric, self.mode),))

    @property
    def stop_cap(self) -> int | None:
        """The cap a trial that ended cleanly is measured against: one that ended below it was stopped
        early. ``trial_cap`` when the scheduler stops trials early, else None (FIFO, PBT: every clean
        end is a completion).

        Derived, so not stored: the store, the trackers and the live view are handed this value.
        """
        return self.trial_cap if self.early_stopping else None

    @property
    def ranked_by(self) -> tuple[str, str]:
        """``(metric, mode)`` the scheduler ranks trials by: its own (``scheduler.metric``), else the sweep's."""
        if self.scheduler_metric is not None and self.scheduler_mode is not None:
            return self.scheduler_metric, self.scheduler_mode
        return self.metric, self.mode

    @property
    def multi_objective(self) -> bool:
        """Several objectives: no single best trial, a Pareto set."""
        return len(self.objectives) > 1

    def with_concurrency(self, concurrency: int) -> SweepPlan:
        """The same plan once the capacity is known."""
        return replace(self, concurrency=concurrency)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the store keeps it beside the spec)."""
        data = asdict(self)
        data["rungs"] = list(self.rungs)
        data["objectives"] = [list(o) for o in self.objectives]
        data["mutations"] = list(self.mutations)
        data["axes"] = [{**asdict(a), "categories": None if a.categories is None else list(a.categories)}
                        for a in self.axes]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepPlan:
        axes = tuple(ParamAxis(**{**a, "categories": None if a.get("categories") is None
                                  else tuple(a["categories"])}) for a in data.get("axes", ()))
        return cls(**{**data, "rungs": tuple(data.get("rungs", ())), "axes": axes,
                      "resources": PlanResources(**data["resources"]), "stop": dict(data.get("stop", {})),
                      "objectives": tuple((str(m), str(d)) for m, d in data.get("objectives") or ()),
                      "mutations": tuple(data.get("mutations", ()))})


def _rungs(grace: int, rf: float, cap: int) -> tuple[int, ...]:
    # Ray's ASHA: rungs at grace * rf**k for k < int(log(max_t/grace)/log(rf) + 1); a trial can only
    # reach the ones below its cap (a smaller `stop` cuts the ladder short).
    count = int(math.log(max(cap, grace) / grace) / math.log(rf) + 1)
    return tuple(r for r in sorted({round(grace * rf**k) for k in range(count)}) if r < cap)


def _cap(spec: SweepSpec) -> int:
    limit = spec.stop.get(spec.scheduler.time_attr)
    cap = min(float(spec.scheduler.max_t), limit) if limit is not None else float(spec.scheduler.max_t)
    return max(1, math.ceil(cap))


def _constant_axis(name: str, values: list[Any]) -> ParamAxis:
    return ParamAxis(name, kind="choice", categories=tuple(values))


def _axes(space: dict[str, Any], prefix: str = "") -> list[ParamAxis]:
    axes: list[ParamAxis] = []
    for key, node in space.items():
        name = f"{prefix}{key}"
        if isinstance(node, (FloatParam, IntParam)):
            axes.append(ParamAxis(name, kind=node.type, log=node.log, low=float(node.low), high=float(node.high)))
        elif isinstance(node, Pow2Param):
            values = node.values()
            axes.append(ParamAxis(name, kind="pow2", log=True, base2=True, low=values[0], high=values[-1]))
        elif isinstance(node, (ChoiceParam, GridParam)):
            groups = [v for v in node.values if isinstance(v, dict)]
            if not groups:
                axes.append(ParamAxis(name, kind=node.type, categories=tuple(node.values)))
                continue
            # A choice of groups: each group's keys become axes under the choice's key, once.
            seen: dict[str, ParamAxis] = {}
            for group in groups:
                for sub_key, sub in group.items():
                    found = _axes({sub_key: sub}, prefix=f"{name}.") if not _is_constant(sub) else [
                        _constant_axis(f"{name}.{sub_key}", [g.get(sub_key) for g in groups if sub_key in g])]
                    for axis in found:
                        seen.setdefault(axis.name, axis)
            axes += seen.values()
        elif isinstance(node, dict):
            axes += _axes(node, prefix=f"{name}.")
    return axes


def _is_constant(node: Any) -> bool:
    return not isinstance(node, (FloatParam, IntParam, Pow2Param, ChoiceParam, GridParam, dict))


def build_plan(spec: SweepSpec | dict[str, Any] | str, *, slots: int | None = None) -> SweepPlan:
    """The plan of a validated spec.

    Args:
        spec: The spec; or a dict / YAML file's path, validated first (``spaces.spec_input.as_spec``).
        slots: How many trials of the spec's size the capacity holds at once, when known.

    Returns:
        The plan; ``concurrency`` is ``search.max_concurrent``, else ``slots``.
    """
    from hpo.spaces.spec_input import as_spec  # here: it imports validate, which may come to need the plan

    spec = as_spec(spec)
    sched = spec.scheduler
    trials = spec.search.num_samples * grid_size(spec)
    cap = _cap(spec)
    full = trials * cap
    rungs: tuple[int, ...] = ()
    expected = full
    if sched.type in _RUNG_SCHEDULERS:
        rungs = _rungs(sched.grace_period, sched.reduction_factor, cap)
        bounds = (0, *rungs, cap)
        spend = sum(max(1.0, trials / sched.reduction_factor**j) * (bounds[j + 1] - bounds[j])
                    for j in range(len(bounds) - 1))
        expected = min(full, round(spend))
    concurrency = spec.search.max_concurrent or slots
    if spec.resources.workers > 1 and slots is not None and concurrency is not None:
        # Tune does not hold a multi-worker trial's workers (Ray Train does): more trials than
        # the workers' slots would start drivers whose workers wait for resources.
        concurrency = min(concurrency, slots)
    exploits = sched.exploits
    ranking = _ranking(spec)
    mutations: tuple[str, ...] = ()
    if exploits:
        can = mutable_paths(spec.params, scheduler=sched.type)
        mutations = tuple(n for n in can if sched.mutate is None or n in sched.mutate)
    return SweepPlan(
        name=spec.name,
        trainable=spec.trainable_label,
        metric=spec.metric,
        mode=spec.mode,
        trials=trials,
        trial_cap=cap,
        time_attr=sched.time_attr,
        scheduler=sched.type,
        early_stopping=sched.type in _STOPS_EARLY,
        rungs=rungs,
        budget_full=full,
        budget_expected=expected,
        axes=tuple(_axes(spec.params)),
        resources=PlanResources(cpu=float(spec.resources.cpu), gpu=float(spec.resources.gpu),
                                workers=spec.resources.workers),
        concurrency=concurrency,
        stop={**{k: float(v) for k, v in spec.stop.items()}, sched.time_attr: float(cap)},
        objectives=spec.objectives,
        exploits=exploits,
        perturbation_interval=(sched.perturbation_interval or max(1, cap // 4)) if exploits else None,
        mutations=mutations,
        scheduler_metric=ranking[0] if ranking else None,
        scheduler_mode=ranking[1] if ranking else None,
    )


def _ranking(spec: SweepSpec) -> tuple[str, str] | None:
    """The scheduler's own ``(metric, mode)`` when they differ from the sweep's; None: it ranks by the sweep's."""
    sched = spec.scheduler
    if sched.metric is None or sched.mode is None or (sched.metric, sched.mode) == (spec.metric, spec.mode):
        return None
    return sched.metric, sched.mode
