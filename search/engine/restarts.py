"""``hpo resume --restart-errored``: each errored trial run again is ONE trial of the sweep, not two.

Ray restarts an errored trial as a new trial (``Trial.reset`` in Ray 2.60: the same config, experiment
tag and resources, and a new trial id), so the store would hold the errored row and the new one: a
random search of 4 whose trials all errored ended with 8 trials. :class:`RestartLedger`, a driver-side
callback of the resumed fit, pairs each new trial, as it starts, with an errored row of the same config
and marks that row replaced by it (``Store.mark_replaced``): the row stays for the record
(``Store.trials(name, replaced=True)``) and is no longer counted, ranked or reported.

The pairing is by config, one errored row per new trial: two rows of one config (a grid's repeats) are
alike, so which of them a trial replaces does not matter. Only a resume that restarts errored trials
pairs: in any other run a new trial with an errored trial's config is a trial of its own.
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
    """Marks each errored trial whose config a resumed fit starts again (under a new id) as replaced by it.

    Args:
        store: The sweep's store.
        sweep: The sweep's name.
    """

    def __init__(self, store: Store, *, sweep: str) -> None:
        self._store = store
        self._sweep = sweep
        everyone = store.trials(sweep, replaced=True)
        self._known = {t.trial_id for t in everyone}
        self._errored = [(t.trial_id, t.config) for t in everyone if t.status == "error" and t.replaced_by is None]

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if trial.trial_id in self._known:
            return  # a trial the store already holds, resumed under its own id
        self._known.add(trial.trial_id)
        key = _config_key(trial.config)
        for index, (old, config) in enumerate(self._errored):
            if config == key:
                del self._errored[index]
                self._store.mark_replaced(self._sweep, {old: trial.trial_id})
                logger.debug("trial %s runs the config of errored trial %s again", trial.trial_id, old)
                return
