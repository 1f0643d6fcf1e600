"""Search algorithms that agree with Tune's restored trials after the driver was SIGKILLed.

Tune snapshots a sweep in two steps: the experiment state (its list of trials) first, then the
search algorithm's state (how many trials it has suggested, and which are live), each in its own
file, synced to storage afterwards. A driver killed between the two, or mid-sync, leaves files
from different moments. ``Tuner.restore`` then takes Tune's trials from one and the searcher's
count from the other: a searcher that thinks it suggested 2 of 4 trials, beside a Tune that
restored all 4, suggests 2 more and the sweep runs 6 (hpo issue 20, seen with NSGA-II under
load); a searcher ahead of Tune stops short, or waits forever on live trials nobody runs.

So on restore these take Tune's word: the newest ``experiment_state-*.json`` (the file
``TuneController.resume`` restores from, read as plain JSON) says which trials exist and which
have ended. ``ReconcilingSearchGenerator`` (Optuna, HyperOpt) sets its count to Tune's and tells
its searcher that trials Tune never recorded failed (they free their concurrency slot; Optuna
marks them ``FAIL`` instead of running for ever under ``constant_liar``), and gives it the last
result of trials Tune saw end and it did not. ``ReconcilingVariantGenerator``
(random, grid: its trial ids are deterministic) skips the variants Tune already holds.

``hpo resume --restart-errored`` meets a second disagreement: Tune restarts each errored trial as a NEW
trial (``Trial.reset``: same config, a new id) that no searcher suggested. Optuna's searcher looks every
result's trial id up and fails the whole fit on one it never saw (``KeyError``, Ray 2.60); so after a
restore ``ReconcilingSearchGenerator`` tells its searcher only of the trials it knows: those Tune restored
and those it suggested since. (The restarted trial's row replaces the errored one's in the store:
``hpo.search.engine.restarts``.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune.search import BasicVariantGenerator, SearchGenerator

from hpo.search.ray_compat.tune_state import (
    experiment_state_files,
    live_variants,
    read_saved_trials,
    reset_suggested,
    set_live_variants,
    suggested_count,
)

__all__ = ["ReconcilingSearchGenerator", "ReconcilingVariantGenerator", "RestoredTrials", "restored_trials",
           "search_algorithm"]

logger = logging.getLogger(__name__)

_ENDED = frozenset({"TERMINATED", "ERROR"})


@dataclass(frozen=True)
class RestoredTrials:
    """The trials in Tune's newest experiment state: every id, and the ids that have ended."""

    ids: frozenset[str]
    ended: dict[str, tuple[dict[str, Any], bool]]  # id -> (last result, errored)
    source: str


def restored_trials(dirpath: str | Path) -> RestoredTrials | None:
    """Tune's trials in ``dirpath``'s newest ``experiment_state-*.json``, or None when it has none.

    The newest is the greatest file name, the rule ``TuneController.resume`` follows
    (``hpo.search.ray_compat.tune_state`` reads the files).
    """
    files = experiment_state_files(dirpath)
    if not files:
        return None
    newest = files[-1]
    try:
        saved = read_saved_trials(newest)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("could not read Tune's trials from %s (%s); the searcher keeps its own count", newest, exc)
        return None
    ended = {t.trial_id: (t.last_result, t.status == "ERROR") for t in saved if t.status in _ENDED}
    return RestoredTrials(ids=frozenset(t.trial_id for t in saved), ended=ended, source=newest.name)


class ReconcilingSearchGenerator(SearchGenerator):
    """Ray's ``SearchGenerator``, whose count and live trials follow Tune's restored trials, and whose
    searcher hears only of trials it knows (not of an errored trial Tune restarted under a new id)."""

    _known: set[str] | None = None  # after a restore: the trial ids the searcher knows; None: every id

    def create_trial_if_possible(self, experiment_spec: dict[str, Any]) -> Any:
        trial = super().create_trial_if_possible(experiment_spec)
        if trial is not None and self._known is not None:
            self._known.add(trial.trial_id)
        return trial

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if self._known is None or trial_id in self._known:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if self._known is None or trial_id in self._known:
            super().on_trial_complete(trial_id, result=result, error=error)
        else:
            logger.debug("trial %s was not suggested by the searcher (a restarted trial): not told of its end",
                         trial_id)

    def restore_from_dir(self, dirpath: str) -> None:
        super().restore_from_dir(dirpath)
        restored = restored_trials(dirpath)
        if restored is None:
            return
        self._known = set(restored.ids)
        counted = suggested_count(self)
        if counted != len(restored.ids):
            logger.warning("resume: the searcher's state counted %d trial(s), Tune's %s holds %d; "
                           "going on from Tune's", counted, restored.source, len(restored.ids))
            reset_suggested(self, len(restored.ids))
        for trial_id in sorted(_live_ids(self.searcher)):
            if trial_id not in restored.ids:
                # Suggested, then lost with the driver: free its slot and fail it in the searcher.
                self.searcher.on_trial_complete(trial_id, result=None, error=True)
            elif trial_id in restored.ended:
                # Ended in Tune's state, never heard of by the searcher: Tune will not end it again.
                result, errored = restored.ended[trial_id]
                errored = errored or not _has_metrics(result, self.searcher.metric)
                self.searcher.on_trial_complete(trial_id, result=None if errored else result, error=errored)


class ReconcilingVariantGenerator(BasicVariantGenerator):
    """Ray's ``BasicVariantGenerator`` that does not suggest again a trial Tune restored."""

    _restored: frozenset[str] = frozenset()

    def restore_from_dir(self, dirpath: str) -> None:
        super().restore_from_dir(dirpath)
        restored = restored_trials(dirpath)
        if restored is None:
            return
        self._restored = restored.ids
        set_live_variants(self, {t for t in live_variants(self) if t in restored.ids and t not in restored.ended})

    def next_trial(self) -> Any:
        trial = super().next_trial()
        while trial is not None and trial.trial_id in self._restored:
            logger.warning("resume: trial %s is already in Tune's restored state; not suggested again",
                           trial.trial_id)
            set_live_variants(self, live_variants(self) - {trial.trial_id})
            trial = super().next_trial()
        return trial


def search_algorithm(searcher: Any) -> Any:
    """What ``TuneConfig.search_alg`` gets: a ``Searcher`` in a ``ReconcilingSearchGenerator``
    (Tune would wrap it in a plain ``SearchGenerator``); a search algorithm as it is."""
    from ray.tune.search import Searcher

    return ReconcilingSearchGenerator(searcher) if isinstance(searcher, Searcher) else searcher


def _has_metrics(result: dict[str, Any], metric: Any) -> bool:
    names = metric if isinstance(metric, list | tuple) else [metric]
    return all(isinstance(result.get(name), int | float) for name in names)


def _live_ids(searcher: Any) -> set[str]:
    """The trial ids the wrapper chain counts as live (``ConcurrencyLimiter.live_trials``)."""
    live: set[str] = set()
    while searcher is not None:
        live |= set(getattr(searcher, "live_trials", ()) or ())
        searcher = getattr(searcher, "searcher", None)
    return live
