"""What of an Optuna study Ray may pickle: plain settings and plain trial records, never live objects.

Ray pickles the searcher twice: into ``tuner.pkl`` when the ``Tuner`` is built, and into the
experiment directory every few seconds while it runs (``Tuner.restore`` reads both). Optuna's
samplers, studies and storages are live objects: they hold locks (``NSGAIISampler`` from Optuna
5.1 on, every ``InMemoryStorage``), caches, and for other storages connections. Whether such an
object pickles is up to each Optuna release, and 5.1 broke it. So nothing live is pickled:
the sampler travels as its name and seed (``SamplerSettings``), the study as its directions,
its trials as ``FrozenTrial`` records, and its system attributes (NSGA-II's parent cache) as
a dict (``StudyRecord``); the study is built again, with a fresh sampler, when unpickled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SamplerSettings", "StudyRecord"]


@dataclass(frozen=True)
class SamplerSettings:
    """Optuna's sampler as the spec names it (``None`` is ``tpe``), and its seed."""

    name: str | None
    seed: int | None

    def build(self, *, resumed_at: int = 0) -> Any:
        """A new sampler.

        Args:
            resumed_at: Trials the study already holds. A sampler built again for a resumed
                study is seeded from (seed, resumed_at): the same seed again would replay the
                random draws it made before the interruption.

        Raises:
            ValueError: an unknown name (the spec's validation refuses it first).
        """
        import optuna

        seed = self.seed
        if seed is not None and resumed_at:
            import numpy as np

            seed = int(np.random.SeedSequence([seed, resumed_at]).generate_state(1)[0])
        with warnings.catch_warnings():
            # multivariate/group TPE and GPSampler are flagged experimental by Optuna.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self.name in (None, "tpe"):
                # multivariate + group: params are modelled jointly, per group of a conditional space.
                return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True, group=True)
            if self.name == "cmaes":
                # CMA-ES models floats and ints; choices and conditional params fall back to random.
                return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
            if self.name == "nsga2":
                return optuna.samplers.NSGAIISampler(seed=seed)
            if self.name == "gp":
                return optuna.samplers.GPSampler(seed=seed)
            if self.name == "random":
                return optuna.samplers.RandomSampler(seed=seed)
        raise ValueError(f"search.sampler: unknown sampler {self.name!r}; use tpe, cmaes, nsga2, gp or random")


@dataclass(frozen=True)
class StudyRecord:
    """An in-memory Optuna study as plain data, and the Ray trials still waiting on it.

    Attributes:
        study_name: The study's name in its storage.
        directions: ``"minimize"`` / ``"maximize"``, one per objective.
        trials: Every trial, in number order, as ``FrozenTrial`` (params, values, states, and
            the system attributes samplers keep on trials: CMA-ES's and NSGA-II's state).
        system_attrs: The study's system attributes (NSGA-II caches its parents there).
        unfinished: Ray trial id -> Optuna trial number, for trials Ray still reports on.
    """

    study_name: str
    directions: tuple[str, ...]
    trials: tuple[Any, ...]
    system_attrs: dict[str, Any] = field(default_factory=dict)
    unfinished: dict[str, int] = field(default_factory=dict)

    @classmethod
    def capture(cls, study: Any, ot_trials: dict[str, Any]) -> StudyRecord:
        """Copy ``study`` (an in-memory study) and the unfinished trials of ``ot_trials``."""
        from hpo.search.ray_compat.optuna import study_storage

        storage = study_storage(study)
        study_id = storage.get_study_id_from_name(study.study_name)
        trials = study.get_trials(deepcopy=True)
        finished = {t.number for t in trials if t.state.is_finished()}
        return cls(
            study_name=study.study_name,
            directions=tuple(d.name.lower() for d in study.directions),
            trials=tuple(trials),
            system_attrs=dict(storage.get_study_system_attrs(study_id)),
            unfinished={tid: t.number for tid, t in ot_trials.items() if t.number not in finished},
        )

    def rebuild(self, sampler: SamplerSettings) -> tuple[Any, Any, dict[str, Any]]:
        """A new in-memory study holding these trials, with a new sampler.

        Returns:
            ``(study, storage, ot_trials)``: ``ot_trials`` maps each unfinished Ray trial id
            to a live ``optuna.Trial`` of the new study, so its results and its end are told.
        """
        import optuna

        # As when the searcher was made (optuna_search.make_optuna_search): Optuna logs every study it
        # creates at INFO ("A new study created in memory ..."), and a resume rebuilds this one twice
        # (Ray unpickles the searcher from tuner.pkl, then from its saved state).
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(
            storage=storage,
            sampler=sampler.build(resumed_at=len(self.trials)),
            pruner=optuna.pruners.NopPruner(),
            study_name=self.study_name,
            directions=list(self.directions),
        )
        study_id = storage.get_study_id_from_name(self.study_name)
        for key, value in self.system_attrs.items():
            storage.set_study_system_attr(study_id, key, value)
        study.add_trials(self.trials)
        ot_trials = {
            tid: optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, number))
            for tid, number in self.unfinished.items()
        }
        return study, storage, ot_trials
