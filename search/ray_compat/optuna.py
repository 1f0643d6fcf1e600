"""Ray Tune's ``OptunaSearch`` with its study in the open, its config from the space's return value, and
pickling through a plain record; and an Optuna study's own storage.

Checked on Ray 2.60.0 and Optuna 5.1.0.
"""

from __future__ import annotations

import pickle
from typing import Any

from ray.tune.search.optuna import OptunaSearch

__all__ = ["RECORD_KEY", "RecordedOptunaSearch", "study_storage"]

RECORD_KEY = "_study_record"  # the key of the record in the pickled state; sweeps saved before keep it too

# OptunaSearch's attributes that hold Optuna's live objects: left out of the pickled state.
_LIVE = frozenset({"_sampler", "_ot_study", "_storage", "_ot_trials"})


def study_storage(study: Any) -> Any:
    """The storage an ``optuna.Study`` keeps its trials and system attributes in.

    Touches ``Study._storage``: Optuna gives no public handle on a study's storage, and hpo copies its
    system attributes (NSGA-II's parent cache) when the searcher pickles. Checked on Optuna 5.1.0.
    """
    return study._storage


class RecordedOptunaSearch(OptunaSearch):
    """``OptunaSearch`` that pickles as a plain record, takes its config from a define-by-run space's
    return value, and shows its :attr:`study` and :attr:`space`.

    Touches ``OptunaSearch._ot_study``, ``_ot_trials``, ``_storage`` and ``_sampler`` (Optuna's live
    objects: left out of the pickled state, which carries :meth:`record_study`'s record under
    :data:`RECORD_KEY` instead, and built again by :meth:`rebuild_study` when unpickled: whether a live
    sampler or study pickles is up to each Optuna release, and 5.1's ``NSGAIISampler`` holds a lock);
    ``_space`` (the define-by-run function); and ``_suggest_from_define_by_run_func``, whose config is
    what the function returns (Ray's merges in every value the space asked for). Ray's own ``save`` and
    ``restore`` pickle ``__dict__`` as it is, so they go through the record too.
    Checked on Ray 2.60.0 and Optuna 5.1.0.
    """

    @property
    def study(self) -> Any:
        """The live ``optuna.Study``."""
        return self._ot_study

    @property
    def space(self) -> Any:
        """The define-by-run space (``space(trial)`` asks for params and returns the config)."""
        return self._space

    def record_study(self, study: Any, running: dict[str, Any]) -> Any:
        """Plain data standing for ``study`` and ``running`` (Ray trial id -> ``optuna.Trial``)."""
        raise NotImplementedError

    def rebuild_study(self, record: Any) -> tuple[Any, Any, dict[str, Any]]:
        """``(study, storage, running)`` built again from :meth:`record_study`'s record."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in _LIVE}
        state[RECORD_KEY] = self.record_study(self._ot_study, self._ot_trials)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        record = state.pop(RECORD_KEY)
        self.__dict__.update(state)
        self._ot_study, self._storage, self._ot_trials = self.rebuild_study(record)
        self._sampler = self._ot_study.sampler

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__setstate__(pickle.load(f))

    def _suggest_from_define_by_run_func(self, func: Any, ot_trial: Any) -> dict[str, Any]:
        return func(ot_trial)
