"""Driver-side Tune callbacks and the stopper, all surviving ``Tuner.restore``.

Ray pickles the whole ``RunConfig`` (callbacks included) into ``tuner.pkl`` and a restored
Tuner gets those unpickled copies back. Our callbacks hold live things (a database engine,
a terminal view), so the RunConfig only carries a :class:`LiveCallbacks` proxy: it pickles
as its key, and forwards every hook to the callbacks bound to that key in this process.
:func:`bind` sets them before ``fit()``, on a fresh run and on a resume alike.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

from hpo.results import LINEAGE_KEY, RAY_AUTO_KEYS
from hpo.search.errors import MetricNotReportedError

__all__ = ["CALLBACK_KEY", "LiveCallbacks", "PlanStopper", "SweepEnded", "TrialTracker", "bind", "keep_trial_files",
           "note_exploit", "unbind"]

logger = logging.getLogger(__name__)

CALLBACK_KEY = "hpo-sweep"  # one sweep runs in a driver process at a time

_BOUND: dict[str, list[Any]] = {}
_EXPLOITS: dict[str, dict[str, dict[str, Any]]] = {}  # key -> trial id -> its last exploit, not yet reported
_PROBLEMS: dict[str, MetricNotReportedError] = {}


class SweepEnded(RuntimeError):
    """Raised from a driver-side callback's ``on_step_end`` to end the sweep ``failed``; ``str()`` is one line.

    Tune lets an exception from a callback end ``fit()`` (it stops the trials' actors and re-raises
    it), which is how a watch that sees the sweep cannot succeed ends it at once instead of letting
    it run on. The engine catches this family, records the sweep ``failed`` with ``str(exc)`` as its
    reason, and the CLI prints ``hpo: sweep NAME <verb>: <reason>``. Raise it from ``on_step_end``,
    not from a trial's hook, so every other callback has seen that step first.
    """

    verb = "ended"  # how the CLI words the end: each watch names its own


def keep_trial_files(trials: list[Any]) -> int:
    """Upload what Tune wrote for each trial on the driver (``error.txt``, ``result.json``...) to its storage.

    A fit that ends normally, or by Ctrl-C, does this in its last snapshot; one a ``SweepEnded`` ends
    skips it, and the files would stay in Ray's session folder (gone with it) while the trial's folder
    under the storage (the ``logs:`` the CLI prints) stays empty. Returns how many trials were uploaded.
    """
    import pyarrow.fs

    kept = 0
    for trial in trials:
        local, remote = getattr(trial, "local_path", None), getattr(trial, "path", None)
        if not local or not remote or not os.path.isdir(local) or not os.listdir(local):
            continue
        try:
            fs = trial.storage.storage_filesystem
            fs.create_dir(remote, recursive=True)
            pyarrow.fs.copy_files(local, remote, destination_filesystem=fs)
            kept += 1
        except Exception:  # the store holds each error's text either way
            logger.debug("could not upload the files of trial %s", getattr(trial, "trial_id", "?"), exc_info=True)
    return kept


def bind(key: str, callbacks: list[Any]) -> None:
    """Route the hooks of every :class:`LiveCallbacks` with ``key`` to ``callbacks``."""
    _BOUND[key] = list(callbacks)


def unbind(key: str) -> None:
    """Stop routing ``key`` (its proxies become no-ops)."""
    _BOUND.pop(key, None)
    _EXPLOITS.pop(key, None)


def _result_id(result: dict[str, Any]) -> tuple[Any, Any]:
    return result.get("training_iteration"), result.get("time_total_s")


def note_exploit(key: str, trial_id: str, event: dict[str, Any], *, during: dict[str, Any]) -> None:
    """Remember that ``trial_id`` now continues from another trial's checkpoint (PBT's exploit).

    ``during`` is the result being processed when it exploited: Tune hands that same result to
    the callbacks after the scheduler, and the note belongs to the next one.
    """
    _EXPLOITS.setdefault(key, {})[trial_id] = {"event": dict(event), "during": _result_id(during)}


def _take_exploit(key: str, trial_id: Any, result: dict[str, Any]) -> dict[str, Any] | None:
    pending = _EXPLOITS.get(key, {})
    note = pending.get(trial_id)
    if note is None or note["during"] == _result_id(result):
        return None
    del pending[trial_id]
    return note["event"]


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
        result = info.get("result")
        # The exploiting trial's next result (its first from the other trial's checkpoint) carries
        # the exploit under LINEAGE_KEY; the store keeps it flattened as pbt/from_trial...
        if isinstance(result, dict):
            event = _take_exploit(self.key, getattr(info.get("trial"), "trial_id", None), result)
            if event is not None:
                info["result"] = {**result, LINEAGE_KEY: event}
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
    """Remembers the trials and the expected total, to tell "done" from "interrupted".

    A trial's status alone cannot tell: when Tune ends early (Ctrl-C, ``hpo stop``) it marks every
    running trial ``TERMINATED`` as it cleans up. A trial has ended only when Tune completed it or
    it errored in this run, or when it was already over as this run first saw it (a resumed sweep's
    finished trials).
    """

    def __init__(self) -> None:
        self.trials: list[Any] = []
        self.total: int | None = None
        self.ended = False
        self._over: set[str] = set()  # ids of the trials that ended
        self._seen: set[str] = set()
        self._looked = 0  # how many of Tune's trials (a list it only appends to) _see has looked at

    def setup(
        self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None, **info: Any
    ) -> None:
        self.total = total_num_samples

    def _see(self, trials: list[Any]) -> None:
        # Called on every step of Tune's loop: look only at the trials added since the last call
        # (all of them again if the list is a new one), not at every trial each time.
        if trials is not self.trials or len(trials) < self._looked:
            self._looked = 0
        self.trials = trials
        fresh, self._looked = trials[self._looked:], len(trials)
        for trial in fresh:
            if trial.trial_id not in self._seen:
                self._seen.add(trial.trial_id)
                if trial.status in ("TERMINATED", "ERROR"):
                    self._over.add(trial.trial_id)

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._see(trials)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._over.add(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._over.add(trial.trial_id)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self._see(trials)
        self.ended = True

    def unfinished(self) -> bool:
        """True when a trial did not end or not all samples were created."""
        if any(t.trial_id not in self._over for t in self.trials):
            return True
        return self.total is not None and self.total > 0 and len(self.trials) < self.total

    def errored(self) -> list[Any]:
        return [t for t in self.trials if t.status == "ERROR"]


class PlanStopper(Stopper):
    """The plan's stop criteria (a trial stops once ``result[key] >= value``; the per-trial cap
    is one of them), and the check that every result carries the sweep's metric (and the
    scheduler's own, ``scheduler.metric``, when it ranks by another).

    Tune calls the stopper before its scheduler and searcher see a result, so a trainable that
    never reports the metric is caught at its first result: the problem is kept under ``key``
    and raised, which ends the whole fit; the engine turns it into one line (exit 2).
    """

    def __init__(self, key: str, *, metric: str, criteria: dict[str, float],
                 scheduler_metric: str | None = None) -> None:
        self.key, self.metric, self.criteria = key, metric, dict(criteria)
        self.scheduler_metric = scheduler_metric  # scheduler.metric, when the scheduler ranks by its own

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        # A result holding only the keys Ray adds to every result (RAY_AUTO_KEYS) reported no metric at
        # all (a trainable that returned without reporting), which Ray lets pass and so do we. Ray's
        # schedulers pass over a result without their metric, so a missing scheduler.metric would
        # silently stop no trial: it is caught here too. (getattr: a stopper pickled before it existed.)
        own = getattr(self, "scheduler_metric", None)
        wanted = [(self.metric, "the spec's metric", "metric:"), (own, "the scheduler's metric", "scheduler.metric:")]
        missing = next(((m, what, key) for m, what, key in wanted if m is not None and m not in result), None)
        if missing is not None and any(k not in RAY_AUTO_KEYS for k in result):
            metric, what, key = missing
            reported = sorted(k for k in result if k not in RAY_AUTO_KEYS)
            problem = MetricNotReportedError(
                f"trial {trial_id} reported no {metric!r} ({what}); it reported: "
                f"{', '.join(reported)}; report it with ray.tune.report, or set {key} to one of those",
                trial_id=trial_id, metric=metric, reported=reported)
            _PROBLEMS[self.key] = problem
            raise problem
        return any(isinstance(result.get(k), (int, float)) and result[k] >= v for k, v in self.criteria.items())

    def stop_all(self) -> bool:
        return False

    @staticmethod
    def problem(key: str) -> MetricNotReportedError | None:
        """The missing-metric problem that ended the fit under ``key``, if any."""
        return _PROBLEMS.get(key)

    @staticmethod
    def clear(key: str) -> None:
        _PROBLEMS.pop(key, None)
