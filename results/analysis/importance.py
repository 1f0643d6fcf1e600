"""Hyperparameter importance from Optuna's evaluators, per rung, over an in-memory study of the store's trials.

Per rung because under ASHA most trials stop early: at rung ``r`` every trial that reached
``r`` counts, with its metric at iteration ``r``, so the early stops are not silently dropped.
Past ``SAMPLE_ABOVE`` trials a fixed sample of them counts (``Sample.picked``): the estimate's cost grows with
the trials, and on a 5,000-trial sweep where one param decides the metric, 1,000 of them gave its share
within a point of all 5,000 (99.6/98.1/98.9% against 99.7/99.1/99.1% at rungs 1, 2, 4).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpo.results.analysis.fanova_compat import fanova_evaluator, optuna_importance
from hpo.results.analysis.plan import ParamAxis
from hpo.results.store.records import TrialRecord, finite

if TYPE_CHECKING:
    import pandas as pd

    from hpo.results.analysis.sample import Sample

__all__ = ["EVALUATORS", "Evidence", "Importance", "importance"]

logger = logging.getLogger(__name__)

EVALUATORS = ("ped_anova", "fanova")
MIN_TRIALS = 4  # fewer trials at a rung say nothing about importance


@dataclass(frozen=True)
class Importance:
    """Importance of each param at one rung (values sum to 1, largest first), estimated over ``trials``
    trials; ``sampled_from``: how many reached the rung when those were a sample of them (else None)."""

    rung: int
    trials: int
    values: dict[str, float]
    sampled_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"rung": self.rung, "trials": self.trials, "sampled_from": self.sampled_from,
                "importance": dict(self.values)}


def _distribution(axis: ParamAxis, values: list[Any]) -> tuple[Any, list[Any]] | None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not values:
        return None
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if axis.categorical or not numeric:
        labels = sorted({v if isinstance(v, bool | int | float | str) else str(v) for v in values}, key=str)
        if len(labels) < 2:
            return None
        return CategoricalDistribution(labels), [v if isinstance(v, bool | int | float | str) else str(v)
                                                 for v in values]
    low, high = min(values), max(values)
    if low == high:
        return None
    log = axis.log and low > 0
    if all(isinstance(v, int) for v in values):
        return IntDistribution(int(low), int(high), log=log), [int(v) for v in values]
    return FloatDistribution(float(low), float(high), log=log), [float(v) for v in values]


def _evaluator(name: str) -> Any:
    if name == "fanova":
        return fanova_evaluator(seed=0)
    return optuna_importance().PedAnovaImportanceEvaluator()


@dataclass(frozen=True)
class Evidence:
    """What an importance estimate reads of a sweep (plain data: the report and the dashboard hand it in).

    Attributes:
        trials: The sweep's trials, best first.
        results: Their results (``trial_id``, ``iteration``, ``metric``): every trial's, or the sample's.
        axes: The searched hyperparameters.
        configs: Each trial's config as dotted keys, by trial id.
        mode: ``min`` or ``max``.
        rungs: Where the scheduler could stop trials, then the per-trial cap (``rungs_of`` the plan).
        sample: A big sweep's sample: only its even part (``picked``) counts; None: every trial counts.
    """

    trials: Sequence[TrialRecord]
    results: pd.DataFrame
    axes: Sequence[ParamAxis]
    configs: Mapping[str, Mapping[str, Any]]
    mode: str
    rungs: Sequence[int] = ()
    sample: Sample | None = None

    @property
    def counted(self) -> Sequence[TrialRecord]:
        """The trials that count: every trial, or a big sweep's even sample."""
        return self.sample.picked if self.sample is not None else self.trials

    @property
    def sampled(self) -> bool:
        """Whether only a sample counts."""
        return self.sample is not None and self.sample.sampled


def _at_rung(data: Evidence, rung: int | None) -> dict[str, float]:
    """Each counted trial's metric at iteration ``rung`` (its last value when ``rung`` is None)."""
    if rung is None:
        return {t.trial_id: v for t in data.counted if (v := finite(t.last_metric)) is not None}
    ids = {t.trial_id for t in data.counted}
    frame = data.results.dropna(subset=["metric"])
    frame = frame[(frame["iteration"] == rung) & frame["trial_id"].isin(ids)]
    return {str(tid): float(v) for tid, v in zip(frame["trial_id"], frame["metric"], strict=True)
            if math.isfinite(float(v))}


def _reached(data: Evidence, rung: int | None) -> int | None:
    """How many of all the trials have a value at ``rung`` when only a sample counts (else None): those with
    a last value, or that reached the rung."""
    if not data.sampled:
        return None
    if rung is None:
        return sum(finite(t.last_metric) is not None for t in data.trials)
    return sum(t.iterations >= rung for t in data.trials)


def _study(data: Evidence, values: dict[str, float]) -> tuple[Any, int] | None:
    if len(values) < MIN_TRIALS:  # also spares the evaluators a study without trials (every trial errored)
        return None
    import optuna

    per_axis: dict[str, tuple[Any, dict[str, Any]]] = {}
    for axis in data.axes:
        present = {tid: data.configs[tid][axis.key] for tid in values
                   if data.configs.get(tid, {}).get(axis.key) is not None}
        if len(present) < len(values):
            continue  # a conditional param (present in some trials only): the evaluators need every trial
        made = _distribution(axis, list(present.values()))
        if made is not None:
            dist, converted = made
            per_axis[axis.key] = (dist, dict(zip(present, converted, strict=True)))
    if not per_axis:
        return None
    direction = "minimize" if data.mode == "min" else "maximize"
    study = optuna.create_study(direction=direction)
    study.add_trials([
        optuna.trial.create_trial(params={k: conv[tid] for k, (_, conv) in per_axis.items()},
                                  distributions={k: dist for k, (dist, _) in per_axis.items()}, value=value)
        for tid, value in values.items()])
    return study, len(values)


def importance(data: Evidence, *, evaluator: str = "ped_anova") -> list[Importance]:
    """Param importance at each rung the trials reached (the last value when the sweep has no rungs).

    Args:
        data: The sweep's trials, results, configs and axes.
        evaluator: ``ped_anova`` (Optuna's PED-ANOVA, default) or ``fanova``.

    Returns:
        One ``Importance`` per rung with at least ``MIN_TRIALS`` trials; [] when there is too little data.
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"importance evaluator must be one of {', '.join(EVALUATORS)}, got {evaluator!r}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    milestones: list[int | None] = list(data.rungs) or [None]
    out: list[Importance] = []
    for rung in milestones:
        built = _study(data, _at_rung(data, rung))
        if built is None:
            continue
        study, count = built
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PED-ANOVA is marked experimental
                found = optuna_importance().get_param_importances(study, evaluator=_evaluator(evaluator))
        except (ValueError, RuntimeError) as exc:  # e.g. too few distinct values at this rung
            logger.info("importance at rung %s skipped: %s", rung, exc)
            continue
        total = sum(found.values()) or 1.0
        values = {k: float(v) / total for k, v in sorted(found.items(), key=lambda kv: -kv[1])}
        last = max((t.iterations for t in data.trials), default=0)
        out.append(Importance(rung=rung if rung is not None else last, trials=count, values=values,
                              sampled_from=_reached(data, rung)))
    return out
