"""Driver-side Tune callbacks that survive ``Tuner.restore``.

Ray pickles the whole ``RunConfig`` (callbacks included) into ``tuner.pkl`` and a restored
Tuner gets those unpickled copies back. Our callbacks hold live things (a database engine,
a terminal view), so the RunConfig only carries a :class:`LiveCallbacks` proxy: it pickles
as its key, and forwards every hook to the callbacks bound to that key in this process.
:func:`bind` sets them before ``fit()``, on a fresh run and on a resume alike.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

__all__ = ["LiveCallbacks", "TrialTracker", "bind", "unbind"]

logger = logging.getLogger(__name__)

_BOUND: dict[str, list[Any]] = {}


def bind(key: str, callbacks: list[Any]) -> None:
    """Route the hooks of every :class:`LiveCallbacks` with ``key`` to ``callbacks``."""
    _BOUND[key] = list(callbacks)


def unbind(key: str) -> None:
    """Stop routing ``key`` (its proxies become no-ops)."""
    _BOUND.pop(key, None)


class LiveCallbacks(Callback):
    """A picklable stand-in for the callbacks bound to ``key`` in the current process."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.key = state["key"]

    def _fan(self, hook: str, **info: Any) -> None:
        for cb in _BOUND.get(self.key, ()):
            getattr(cb, hook)(**info)

    def setup(self, **info: Any) -> None:
        self._fan("setup", **info)

    def on_step_begin(self, **info: Any) -> None:
        self._fan("on_step_begin", **info)

    def on_step_end(self, **info: Any) -> None:
        self._fan("on_step_end", **info)

    def on_trial_start(self, **info: Any) -> None:
        self._fan("on_trial_start", **info)

    def on_trial_restore(self, **info: Any) -> None:
        self._fan("on_trial_restore", **info)

    def on_trial_save(self, **info: Any) -> None:
        self._fan("on_trial_save", **info)

    def on_trial_result(self, **info: Any) -> None:
        self._fan("on_trial_result", **info)

    def on_trial_complete(self, **info: Any) -> None:
        self._fan("on_trial_complete", **info)

    def on_trial_recover(self, **info: Any) -> None:
        self._fan("on_trial_recover", **info)

    def on_trial_error(self, **info: Any) -> None:
        self._fan("on_trial_error", **info)

    def on_checkpoint(self, **info: Any) -> None:
        self._fan("on_checkpoint", **info)

    def on_experiment_end(self, **info: Any) -> None:
        self._fan("on_experiment_end", **info)

    def get_state(self) -> dict[str, Any] | None:
        """Called by Tune as it snapshots the experiment: flush buffered writes first.

        Whatever a later ``Tuner.restore`` will treat as done is then already in the store,
        so a driver killed with SIGKILL loses no result the resumed run will not redo.
        """
        for cb in _BOUND.get(self.key, ()):
            if callable(getattr(cb, "flush", None)):
                cb.flush()
        return None


class TrialTracker(Callback):
    """Remembers the trials and the expected total, to tell "done" from "interrupted"."""

    def __init__(self) -> None:
        self.trials: list[Any] = []
        self.total: int | None = None
        self.ended = False

    def setup(
        self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None, **info: Any
    ) -> None:
        self.total = total_num_samples

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.trials = trials

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self.trials = trials
        self.ended = True

    def unfinished(self) -> bool:
        """True when a trial is still pending/running/paused or not all samples were created."""
        if any(t.status not in ("TERMINATED", "ERROR") for t in self.trials):
            return True
        return self.total is not None and self.total > 0 and len(self.trials) < self.total

    def errored(self) -> list[Any]:
        return [t for t in self.trials if t.status == "ERROR"]
