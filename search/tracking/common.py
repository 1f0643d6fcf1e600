"""What both trackers share: the keys hpo adds to every run, the final status of a trial, fail-soft hooks.

A tracker is a copy of the record, the store is the record: each trial's final status is the store's
classification (``completed``, ``stopped_early``, ``error``: `results.trial_outcome`), and a tracker that
fails is dropped with one warning while the sweep goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hpo.results import mask_secrets

__all__ = ["STATUS_KEY", "SWEEP_KEY", "FailSoft", "StatusRule"]

logger = logging.getLogger(__name__)

STATUS_KEY = "hpo_status"  # W&B summary key of a trial's final status (MLflow tag: hpo.status)
SWEEP_KEY = "hpo_sweep"  # W&B config key of the sweep's name (MLflow tag: hpo.sweep)


@dataclass(frozen=True)
class StatusRule:
    """How the trackers classify an ended trial: the store's rule (`results.trial_outcome`), with the
    sweep's stop cap and criteria as the store's callback has them.

    Attributes:
        max_t: The plan's stop cap when the scheduler may stop trials early, else None.
        time_attr: The result key ``max_t`` counts.
        stop: The sweep's stop criteria (a trial that met one completed); None: each trial's own.
    """

    max_t: float | None
    time_attr: str
    stop: dict[str, float] | None = None

    def status(self, trial: Any, *, failed: bool, stopped: bool | None = None) -> str:
        """``error``, ``stopped_early`` or ``completed``, from the trial's last result (``stopped``: whether Tune
        stopped it on that result, as `results.trial_outcome` reads it; None: not known)."""
        from hpo.results import iterations_reached, trial_outcome

        reached = iterations_reached(getattr(trial, "last_result", None), time_attr=self.time_attr)
        return trial_outcome(trial, failed=failed, reached=reached, max_t=self.max_t, stop=self.stop, stopped=stopped)


class FailSoft:
    """Mixin for a tracker callback: the first exception of any hook is logged once, then it is off.

    A tracker is a copy of the record, the store is the record: losing the tracker must not stop
    the sweep (Ray ends the whole experiment when a callback raises).
    """

    tracker_name = "tracker"
    _off = False

    def _guard(self, hook: str, *args: Any, **kwargs: Any) -> None:
        if self._off:
            return
        try:
            getattr(super(), hook)(*args, **kwargs)
        except Exception as exc:  # any failure of a tracker: its server, its files, its library
            self._off = True
            logger.warning("%s failed (%s: %s); the sweep goes on without it, the results store has every result",
                           self.tracker_name, type(exc).__name__, (mask_secrets(str(exc)).splitlines() or [""])[0])
            logger.debug("%s failure", self.tracker_name, exc_info=True)

    def setup(self, *args: Any, **kwargs: Any) -> None:
        self._guard("setup", *args, **kwargs)

    def log_trial_start(self, trial: Any) -> None:
        self._guard("log_trial_start", trial)

    def log_trial_restore(self, trial: Any) -> None:
        self._guard("log_trial_restore", trial)

    def log_trial_save(self, trial: Any) -> None:
        self._guard("log_trial_save", trial)

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        self.__dict__.setdefault("_stopped", {})[trial.trial_id] = bool(result.get("done"))
        self._guard("log_trial_result", iteration, trial, result)

    def stopped_on_last_result(self, trial: Any) -> bool | None:
        """Whether Tune stopped ``trial`` on the last result this tracker saw (Tune sets ``done`` there); None:
        it saw none. A trial that ended on its own (a function trainable that returned) was not stopped."""
        return self.__dict__.get("_stopped", {}).get(trial.trial_id)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        self._guard("log_trial_end", trial, failed)

    def on_experiment_end(self, *args: Any, **kwargs: Any) -> None:
        self._guard("on_experiment_end", *args, **kwargs)
