"""A resumed sweep ends with its ``num_samples`` trials: a trial run again under a new id replaces its row.

Ray restarts an errored trial as a new trial (``Trial.reset`` in Ray 2.60: the same config, experiment
tag and resources, and a new trial id), so after ``hpo resume --restart-errored`` the store would hold
the errored row and the new one: a random search of 4 whose trials all errored ended with 8 trials.
And a sweep ended at once (fail-fast, the stall watch) may leave rows that Ray's saved state never
held: on resume the searcher draws new trials in their place. :class:`RestartLedger`, a driver-side
callback of every resumed fit, marks each such row replaced by the trial that stands for it
(``Store.mark_replaced``): the row stays for the record (``Store.trials(name, replaced=True)``) and is
no longer counted, ranked or reported.

A restarted trial replaces the row of its config (two rows of one config, a grid's repeats, are alike,
so which one does not matter); a trial drawn afresh replaces the oldest row Ray did not restore.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

from hpo.results import Store
from hpo.results.store import dumps, loads

__all__ = ["RestartLedger"]

logger = logging.getLogger(__name__)


def _config_key(config: Any) -> Any:
    """A config as the store reads it back (tuples as lists, numbers as JSON has them), to compare."""
    return loads(dumps(dict(config or {})), {})


class RestartLedger(Callback):
    """Marks each stored trial that a resumed fit runs again under a new id as replaced by that trial.

    Two kinds of rows are run again. An errored trial that Ray restarts (``--restart-errored``) comes back
    with its config and a new id: it replaces the errored row of that config. A trial that Ray's saved
    state never held (the sweep was ended at once, by fail-fast or the stall watch, before Ray saved it)
    is drawn afresh by the searcher to make up ``num_samples``: the first such new trial replaces the
    oldest of those rows (errored, or left ``running``). Rows Ray holds under their own ids run again
    under them and are left alone.

    Args:
        store: The sweep's store.
        sweep: The sweep's name.
    """

    def __init__(self, store: Store, *, sweep: str) -> None:
        self._store = store
        self._sweep = sweep
        everyone = store.trials(sweep, replaced=True)
        self._known = {t.trial_id for t in everyone}
        # Rows a new trial may stand for: errored, or left running by a run that ended at once.
        self._open = [(t.trial_id, _config_key(t.config)) for t in everyone
                      if t.status in ("error", "running") and t.replaced_by is None]
        self._restarted: dict[str, str] = {}  # a restarted trial's new id -> the row it replaces
        self._seen_ray = False

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._seen_ray:
            return
        # The first step: Ray's list holds what it restored, and nothing the searcher drew yet.
        self._seen_ray = True
        restored = {t.trial_id for t in trials}
        self._open = [row for row in self._open if row[0] not in restored]
        for trial in trials:
            if trial.trial_id not in self._known and (old := self._take(_config_key(trial.config))) is not None:
                self._restarted[trial.trial_id] = old

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if trial.trial_id in self._known:
            return  # a trial the store already holds, resumed under its own id
        self._known.add(trial.trial_id)
        old = self._restarted.pop(trial.trial_id, None) or self._take(_config_key(trial.config))
        if old is None and self._seen_ray and self._open:
            old = self._open.pop(0)[0]  # drawn afresh, in place of a row Ray's saved state never held
        if old is not None:
            self._store.mark_replaced(self._sweep, {old: trial.trial_id})
            logger.debug("trial %s runs in place of trial %s", trial.trial_id, old)

    def _take(self, key: Any) -> str | None:
        """The first open row of config ``key``, taken off the list; None when there is none."""
        for index, (old, config) in enumerate(self._open):
            if config == key:
                del self._open[index]
                return old
        return None
