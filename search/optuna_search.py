"""Optuna through Ray Tune's ``OptunaSearch``: the sampler from the spec, the spec's own space.

The space is ``spaces.OptunaSpace`` (define-by-run), so a choice of groups asks only for the
chosen group's params. Ray merges every value the space asked for into the config beside what
it returns; that would leak names like ``optimizer.values[0].momentum`` into the trial's config
(and break trainables that reject unknown keys), so only the returned config is kept.

TPE runs with ``constant_liar``: trials still running count as bad results while new ones are
sampled, so k trials at once spread out instead of piling onto the same region (without it,
parallel TPE degrades towards random). ``bench/search_quality.py`` measures it.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from ray.tune.search.optuna import OptunaSearch

__all__ = ["SpecOptunaSearch", "make_optuna_search", "make_sampler"]

logger = logging.getLogger(__name__)


def make_sampler(name: str | None, *, seed: int | None) -> Any:
    """Optuna's sampler by the spec's name (``None`` is ``tpe``), seeded.

    Raises:
        ValueError: an unknown name (the spec's validation refuses it first).
    """
    import optuna

    with warnings.catch_warnings():
        # multivariate/group TPE and GPSampler are flagged experimental by Optuna.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name in (None, "tpe"):
            # multivariate + group: params are modelled jointly, per group of a conditional space.
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True, group=True)
        if name == "cmaes":
            # CMA-ES models floats and ints; choices and conditional params fall back to random.
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if name == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"search.sampler: unknown sampler {name!r}; use tpe, cmaes, nsga2, gp or random")


class _Recorder:
    """Answers ``OptunaSpace``'s questions from a known point, noting each param's distribution."""

    def __init__(self, params: dict[str, Any]) -> None:
        from optuna import distributions

        self.params, self.asked, self._d = params, {}, distributions

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None) -> Any:
        self.asked[name] = self._d.FloatDistribution(low, high, log=log, step=step)
        return self.params[name]

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> Any:
        self.asked[name] = self._d.IntDistribution(low, high, log=log, step=step)
        return self.params[name]

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.asked[name] = self._d.CategoricalDistribution(choices)
        return self.params[name]


class SpecOptunaSearch(OptunaSearch):
    """``OptunaSearch`` on a ``spaces.OptunaSpace``: the trial's config is what the space returns."""

    def _suggest_from_define_by_run_func(self, func: Any, ot_trial: Any) -> dict[str, Any]:
        return func(ot_trial)

    def add_evaluated(self, points: list[dict[str, Any]], values: list[float]) -> None:
        """Tell the study about trials already run (warm start, extend): finished Optuna trials.

        ``points`` are in ``OptunaSpace``'s names (``spaces.to_optuna_point``). Ray's own
        ``evaluated_rewards`` does not take a define-by-run space; ``optuna.create_trial`` does,
        given each param's distribution, which running the space on the point records.
        """
        import optuna

        if len(self._ot_study.directions) > 1:  # earlier results carry the first objective only
            logger.warning("several objectives: the %d earlier trial(s) are not given to the sampler", len(points))
            return
        for point, value in zip(points, values, strict=True):
            recorder = _Recorder(point)
            self._space(recorder)
            self._ot_study.add_trial(optuna.trial.create_trial(
                params={k: point[k] for k in recorder.asked}, distributions=recorder.asked, value=value))


def make_optuna_search(spec: Any) -> SpecOptunaSearch:
    """The spec's Optuna searcher: one objective, or several (``metrics:``) as Optuna's directions."""
    import optuna

    import spaces

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per trial in the sweep's output
    objectives = spec.objectives
    metric: Any = objectives[0][0] if len(objectives) == 1 else [m for m, _ in objectives]
    mode: Any = objectives[0][1] if len(objectives) == 1 else [d for _, d in objectives]
    return SpecOptunaSearch(
        space=spaces.OptunaSpace(spec),
        metric=metric,
        mode=mode,
        points_to_evaluate=spaces.to_optuna_points(spec) or None,
        sampler=make_sampler(spec.search.sampler, seed=spec.search.seed),
    )
