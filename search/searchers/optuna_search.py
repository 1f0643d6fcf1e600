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
from typing import Any

from hpo.search.ray_compat.optuna import RecordedOptunaSearch
from hpo.search.searchers.optuna_state import SamplerSettings, StudyRecord

__all__ = ["SamplerSettings", "SpecOptunaSearch", "make_optuna_search"]

logger = logging.getLogger(__name__)


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


class SpecOptunaSearch(RecordedOptunaSearch):
    """``OptunaSearch`` on a ``spaces.OptunaSpace``: the trial's config is what the space returns.

    It pickles as plain data (``hpo.search.searchers.optuna_state``): Ray pickles it into ``tuner.pkl`` and into
    each searcher checkpoint, and Optuna's live sampler and study need not pickle (5.1's
    ``NSGAIISampler`` holds a lock). Unpickled, it builds its study and sampler again.
    """

    def __init__(self, *, space: Any, metric: Any, mode: Any, points_to_evaluate: list[dict[str, Any]] | None,
                 sampler: SamplerSettings) -> None:
        import optuna

        self._sampler_settings = sampler
        super().__init__(space=space, metric=metric, mode=mode, points_to_evaluate=points_to_evaluate,
                         sampler=sampler.build(), storage=optuna.storages.InMemoryStorage())

    def record_study(self, study: Any, running: dict[str, Any]) -> StudyRecord:
        return StudyRecord.capture(study, running)

    def rebuild_study(self, record: StudyRecord) -> tuple[Any, Any, dict[str, Any]]:
        return record.rebuild(self._sampler_settings)

    def add_evaluated(self, points: list[dict[str, Any]], values: list[float]) -> None:
        """Tell the study about trials already run (warm start, extend): finished Optuna trials.

        ``points`` are in ``OptunaSpace``'s names (``spaces.to_optuna_point``). Ray's own
        ``evaluated_rewards`` does not take a define-by-run space; ``optuna.create_trial`` does,
        given each param's distribution, which running the space on the point records.
        """
        import optuna

        if len(self.study.directions) > 1:  # earlier results carry the first objective only
            logger.warning("several objectives: the %d earlier trial(s) are not given to the sampler", len(points))
            return
        for point, value in zip(points, values, strict=True):
            recorder = _Recorder(point)
            self.space(recorder)
            self.study.add_trial(optuna.trial.create_trial(
                params={k: point[k] for k in recorder.asked}, distributions=recorder.asked, value=value))


def make_optuna_search(spec: Any) -> SpecOptunaSearch:
    """The spec's Optuna searcher: one objective, or several (``metrics:``) as Optuna's directions."""
    import optuna

    from hpo import spaces

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per trial in the sweep's output
    objectives = spec.objectives
    metric: Any = objectives[0][0] if len(objectives) == 1 else [m for m, _ in objectives]
    mode: Any = objectives[0][1] if len(objectives) == 1 else [d for _, d in objectives]
    return SpecOptunaSearch(
        space=spaces.OptunaSpace(spec),
        metric=metric,
        mode=mode,
        points_to_evaluate=spaces.to_optuna_points(spec) or None,
        sampler=SamplerSettings(spec.search.sampler, spec.search.seed),
    )
