"""Trial schedulers from a spec. metric/mode are passed here only when the scheduler ranks by a metric of its
own (``scheduler.metric``, the plan's ``scheduler_metric``); otherwise TuneConfig sets the sweep's once.

Ray Tune refuses a metric given both to ``TuneConfig`` and to the scheduler ("the scheduler you are using
was already instantiated with their own `metric` and `mode` parameters"): a sweep whose scheduler has its
own leaves TuneConfig's empty (``hpo.search.engine.tuner``), and the searchers carry the sweep's metric in
their own constructors, as Ray's ``HyperOptSearch(metric=...)`` with ``ASHAScheduler(metric=...)`` does.

PBT and PB2 are subclassed only to note each exploit (which trial took whose checkpoint, and
at which iterations) as lineage: ``hpo.search.schedulers.lineage``.
"""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import PopulationBasedTraining

from hpo.search.schedulers.lineage import NotesExploits

__all__ = ["LineagePBT", "make_scheduler"]  # LineagePB2: hpo.search.schedulers.pb2


class LineagePBT(NotesExploits, PopulationBasedTraining):
    """Ray's PBT, noting its exploits."""


def __getattr__(name: str) -> Any:
    # PB2 lives in its own module: importing Ray's PB2 imports scikit-learn and SciPy (about a second
    # of every sweep's start), so only a pb2 sweep pays it. Kept reachable here for pickles that name it.
    if name == "LineagePB2":
        from hpo.search.schedulers.pb2 import LineagePB2

        return LineagePB2
    raise AttributeError(f"module 'hpo.search.schedulers.build' has no attribute {name!r}")


def _own_ranking(plan: Any) -> dict[str, str]:
    """``{"metric": ..., "mode": ...}`` for a scheduler that ranks by its own metric (the plan's
    ``scheduler_metric``); ``{}`` for one that takes the sweep's from TuneConfig."""
    if plan.scheduler_metric is None:
        return {}
    metric, mode = plan.ranked_by
    return {"metric": metric, "mode": mode}


def _exploiting(spec: Any, plan: Any, lineage_key: str | None) -> Any:
    from hpo import spaces

    sch = spec.scheduler
    common = {"time_attr": sch.time_attr, "perturbation_interval": plan.perturbation_interval,
              "quantile_fraction": sch.quantile_fraction, "synch": sch.synch,
              "custom_explore_fn": spaces.ConfigClip(spec), **_own_ranking(plan)}
    scheduler: NotesExploits
    if sch.type == "pb2":
        from hpo.search.schedulers.pb2 import LineagePB2

        scheduler = LineagePB2(hyperparam_bounds=spaces.to_pb2_bounds(spec), **common)
    else:
        scheduler = LineagePBT(hyperparam_mutations=spaces.to_pbt_mutations(spec),
                         resample_probability=sch.resample_probability, **common)
    scheduler.lineage_key = lineage_key
    return scheduler


def make_scheduler(spec: Any, *, plan: Any = None, lineage_key: str | None = None) -> Any:
    """Build the spec's scheduler: ``asha``, ``hyperband``, ``median``, ``fifo``, ``pbt`` or ``pb2``.

    Args:
        spec: The sweep spec.
        plan: Its ``SweepPlan`` (PBT/PB2 read the perturbation interval from it, every scheduler its own
            metric when it has one); built when None.
        lineage_key: PBT/PB2: the key their exploits are noted under (see ``hpo.search.engine.callbacks``).
    """
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
    )

    from hpo import spaces

    sch = spec.scheduler
    kind = sch.type
    plan = plan if plan is not None else spaces.build_plan(spec)
    if sch.exploits:
        return _exploiting(spec, plan, lineage_key)
    own = _own_ranking(plan)
    if kind == "asha":
        return ASHAScheduler(
            time_attr=sch.time_attr,
            max_t=sch.max_t,
            grace_period=sch.grace_period,
            reduction_factor=sch.reduction_factor,
            **own,
        )
    if kind == "hyperband":
        return HyperBandScheduler(
            time_attr=sch.time_attr, max_t=sch.max_t, reduction_factor=sch.reduction_factor, **own
        )
    if kind == "median":
        # min_samples_required=2 so that small sweeps get early stopping at all.
        return MedianStoppingRule(
            time_attr=sch.time_attr, grace_period=sch.grace_period, min_samples_required=2, **own
        )
    if kind == "fifo":
        return FIFOScheduler()
    raise ValueError(f"scheduler.type: unknown scheduler {kind!r}; use asha, hyperband, median, fifo, pbt or pb2")
