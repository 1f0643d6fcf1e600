"""Trial schedulers from a spec. metric/mode are NOT passed here: TuneConfig sets them once.

PBT and PB2 are subclassed only to note each exploit (which trial took whose checkpoint, and
at which iterations) under a key; :class:`hpo.search.engine.callbacks.LiveCallbacks` adds the note to the
trial's next result, so the store keeps the lineage in the results it already has.
"""

from __future__ import annotations

from typing import Any

from hpo.search.engine.callbacks import note_exploit
from ray.tune.schedulers import PopulationBasedTraining

__all__ = ["LineagePBT", "make_scheduler"]  # LineagePB2: hpo.search.schedulers.pb2


class _NotesExploits:
    """Mixed into PBT/PB2: each exploit noted under ``lineage_key`` (module level: Ray pickles schedulers)."""

    lineage_key: str | None = None

    def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
        time_attr = self._time_attr  # type: ignore[attr-defined]
        states = self._trial_state  # type: ignore[attr-defined]
        at = states[trial].last_result or {}
        source = states[trial_to_clone].last_result or {}
        super()._exploit(tune_controller, trial, trial_to_clone)  # type: ignore[misc]
        if self.lineage_key is not None:
            note_exploit(self.lineage_key, trial.trial_id, {
                "from_trial": trial_to_clone.trial_id, "from_step": source.get(time_attr),
                "at_step": at.get(time_attr)}, during=at)


class LineagePBT(_NotesExploits, PopulationBasedTraining):
    """Ray's PBT, noting its exploits."""


def __getattr__(name: str) -> Any:
    # PB2 lives in its own module: importing Ray's PB2 imports scikit-learn and SciPy (about a second
    # of every sweep's start), so only a pb2 sweep pays it. Kept reachable here for pickles that name it.
    if name == "LineagePB2":
        from hpo.search.schedulers.pb2 import LineagePB2

        return LineagePB2
    raise AttributeError(f"module 'hpo.search.schedulers.build' has no attribute {name!r}")


def _exploiting(spec: Any, plan: Any, lineage_key: str | None) -> Any:
    from hpo import spaces

    sch = spec.scheduler
    common = {"time_attr": sch.time_attr, "perturbation_interval": plan.perturbation_interval,
              "quantile_fraction": sch.quantile_fraction, "synch": sch.synch,
              "custom_explore_fn": spaces.ConfigClip(spec)}
    scheduler: _NotesExploits
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
        plan: Its ``SweepPlan`` (PBT/PB2 read the perturbation interval from it); built when None.
        lineage_key: PBT/PB2: the key their exploits are noted under (see ``hpo.search.engine.callbacks``).
    """
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
    )

    sch = spec.scheduler
    kind = sch.type
    if kind in ("pbt", "pb2"):
        from hpo import spaces

        return _exploiting(spec, plan if plan is not None else spaces.build_plan(spec), lineage_key)
    if kind == "asha":
        return ASHAScheduler(
            time_attr=sch.time_attr,
            max_t=sch.max_t,
            grace_period=sch.grace_period,
            reduction_factor=sch.reduction_factor,
        )
    if kind == "hyperband":
        return HyperBandScheduler(
            time_attr=sch.time_attr, max_t=sch.max_t, reduction_factor=sch.reduction_factor
        )
    if kind == "median":
        # min_samples_required=2 so that small sweeps get early stopping at all.
        return MedianStoppingRule(
            time_attr=sch.time_attr, grace_period=sch.grace_period, min_samples_required=2
        )
    if kind == "fifo":
        return FIFOScheduler()
    raise ValueError(f"scheduler.type: unknown scheduler {kind!r}; use asha, hyperband, median, fifo, pbt or pb2")
