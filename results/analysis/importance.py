"""Hyperparameter importance from Optuna's evaluators, per rung, over an in-memory study of the store's trials.

Per rung because under ASHA most trials stop early: at rung ``r`` every trial that reached
``r`` counts, with its metric at iteration ``r``, so the early stops are not silently dropped.
Past ``SAMPLE_ABOVE`` trials a fixed sample of them counts (``_sample``): the estimate's cost grows with
the trials, and on a 5,000-trial sweep where one param decides the metric, 1,000 of them gave its share
within a point of all 5,000 (99.6/98.1/98.9% against 99.7/99.1/99.1% at rungs 1, 2, 4).
"""

from __future__ import annotations

import logging
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from hpo.results.report.data import ParamAxis, ReportData, gather, rungs
from hpo.results.store.records import finite
from hpo.results.store.store import Store

__all__ = ["EVALUATORS", "Importance", "importance", "optuna_importance", "param_importance"]

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


# optuna's modules that import scikit-learn, reloaded (importing it) when fANOVA is asked for after
# optuna.importance was imported with scikit-learn hidden.
_NEED_SKLEARN = ("optuna.importance._fanova._fanova", "optuna.importance._mean_decrease_impurity")
_hidden: list[str] = []  # those modules, while they were imported without it


def optuna_importance() -> Any:
    """``optuna.importance``, imported without scikit-learn when nothing has imported either yet.

    The package imports every evaluator, and fANOVA's import scikit-learn: over a second of CPU, most
    of what a 10,000-trial report may take. PED-ANOVA needs none of it.
    """
    if "optuna.importance" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` raises ImportError meanwhile
        try:
            import optuna.importance
        finally:
            del sys.modules["sklearn"]
        _hidden[:] = _NEED_SKLEARN
    import optuna.importance

    return optuna.importance


def _distribution(axis: ParamAxis, values: list[Any]) -> tuple[Any, list[Any]] | None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

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
    importance = optuna_importance()
    if name == "fanova":
        if _hidden:  # imported without scikit-learn: import it now, into the modules that use it
            import importlib

            for module in _hidden:
                if module in sys.modules:
                    importlib.reload(sys.modules[module])
            _hidden.clear()
        return importance.FanovaImportanceEvaluator(seed=0)
    return importance.PedAnovaImportanceEvaluator()


def _at_rung(data: ReportData, rung: int | None) -> dict[str, float]:
    """Each counted trial's metric at iteration ``rung`` (its last value when ``rung`` is None)."""
    counted = data.sample.picked if data.sample is not None else data.trials
    if rung is None:
        return {t.trial_id: v for t in counted if (v := finite(t.last_metric)) is not None}
    ids = {t.trial_id for t in counted}
    frame = data.results.dropna(subset=["metric"])
    frame = frame[(frame["iteration"] == rung) & frame["trial_id"].isin(ids)]
    return {str(tid): float(v) for tid, v in zip(frame["trial_id"], frame["metric"], strict=True)
            if math.isfinite(float(v))}


def _reached(data: ReportData, rung: int | None) -> int | None:
    """How many of all the trials have a value at ``rung`` when only a sample counts (else None): those with
    a last value, or that reached the rung."""
    if not data.sampled:
        return None
    if rung is None:
        return sum(finite(t.last_metric) is not None for t in data.trials)
    return sum(t.iterations >= rung for t in data.trials)


def _study(data: ReportData, values: dict[str, float]) -> tuple[Any, int] | None:
    import optuna

    axes = [a for a in data.params]
    per_axis: dict[str, tuple[Any, dict[str, Any]]] = {}
    for axis in axes:
        present = {tid: data.flat_configs[tid][axis.key] for tid in values
                   if data.flat_configs.get(tid, {}).get(axis.key) is not None}
        if len(present) < len(values):
            continue  # a conditional param (present in some trials only): the evaluators need every trial
        made = _distribution(axis, list(present.values()))
        if made is not None:
            dist, converted = made
            per_axis[axis.key] = (dist, dict(zip(present, converted, strict=True)))
    if not per_axis or len(values) < MIN_TRIALS:
        return None
    direction = "minimize" if data.sweep.mode == "min" else "maximize"
    study = optuna.create_study(direction=direction)
    study.add_trials([
        optuna.trial.create_trial(params={k: conv[tid] for k, (_, conv) in per_axis.items()},
                                  distributions={k: dist for k, (dist, _) in per_axis.items()}, value=value)
        for tid, value in values.items()])
    return study, len(values)


def importance(data: ReportData, *, evaluator: str = "ped_anova") -> list[Importance]:
    """Param importance at each rung the trials reached (the last value when the sweep has no rungs).

    Args:
        data: The report data.
        evaluator: ``ped_anova`` (Optuna's PED-ANOVA, default) or ``fanova``.

    Returns:
        One ``Importance`` per rung with at least ``MIN_TRIALS`` trials; [] when there is too little data.
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"importance evaluator must be one of {', '.join(EVALUATORS)}, got {evaluator!r}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    milestones: list[int | None] = list(rungs(data)) or [None]
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


def param_importance(store: Store, name: str, *, evaluator: str = "ped_anova") -> list[Importance]:
    """Sweep ``name``'s param importance per rung, as its report shows it (``importance`` over the store's rows).

    Raises:
        SweepNotFoundError: no such sweep.
    """
    return importance(gather(store, name), evaluator=evaluator)
