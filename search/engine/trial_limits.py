"""Ending a trial that hangs or overruns: ``failures.trial_timeout`` and ``failures.report_timeout``.

One trial stuck between two reports (a deadlocked data loader, a collective that never returns)
holds its slot for ever while the others finish: Ray Tune has no per-trial time limit, and its
stoppers only act on a result (ray-project/ray#47475). :class:`TrialLimits` is a driver-side Tune
callback that notes when each trial (re)started and last reported, and ends a running trial past
a limit by killing its actor (``hpo.search.ray_compat.trial_actor``). Tune then handles it as a
crashed trial: it counts one failure and retries it from its last checkpoint while
``failures.max_retries`` allows, else marks it errored. The store records hpo's reason
(:func:`timeout_reason`, handed to ``StoreCallback(error_of=...)``) instead of Ray's ``RayActorError``:

    timed out: no result for 600 s after iteration 3 (failures.report_timeout)
    timed out: ran past its limit of 7200 s at iteration 3 (failures.trial_timeout)

:class:`TrialTimers` is the timing rule alone (no Ray, an injected clock), so it is tested without one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback

__all__ = ["TrialLimits", "TrialTimers", "limits_for", "timeout_message", "timeout_reason"]

logger = logging.getLogger(__name__)

_LOOK_EVERY_S = 0.5  # Tune steps many times a second; a limit is seconds to hours

# trial id -> why hpo ended it, kept until the trial starts again so that the store's callback (which
# sees the failure a step later, as Tune notices the actor's death) records it. Module-level so a
# StoreCallback pickled with `error_of=timeout_reason` still finds it.
_REASONS: dict[str, str] = {}


def timeout_reason(trial: Any) -> str | None:
    """Why hpo ended ``trial`` for a time limit in its latest run, or None when it did not."""
    return _REASONS.get(str(getattr(trial, "trial_id", "")))


def _seconds(value: float) -> str:
    return f"{value:g}"


def timeout_message(limit: str, seconds: float, iteration: int | None) -> str:
    """The one-line reason a trial was ended: ``limit`` is ``"report_timeout"`` or ``"trial_timeout"``.

    ``iteration`` is the trial's last reported ``training_iteration`` (None: no result yet).
    """
    if limit == "report_timeout":
        when = f"after iteration {iteration}" if iteration is not None else "since it started"
        return f"timed out: no result for {_seconds(seconds)} s {when} (failures.report_timeout)"
    if limit == "trial_timeout":
        when = f"at iteration {iteration}" if iteration is not None else "before its first result"
        return f"timed out: ran past its limit of {_seconds(seconds)} s {when} (failures.trial_timeout)"
    raise ValueError(f"limit must be 'report_timeout' or 'trial_timeout', got {limit!r}")


@dataclass
class _Run:
    started: float  # when this run of the trial (re)started
    heard: float  # its last result, or its start or restore
    ended: bool = False  # ended by a limit: not ended twice


class TrialTimers:
    """Which running trials are past a limit, from the times they started, restored and reported.

    Args:
        trial_timeout_s: Longest a trial may run since it (re)started; None: no limit.
        report_timeout_s: Longest a running trial may go without a result (since its last result, its
            start or its restore); None: no limit.
    """

    def __init__(self, *, trial_timeout_s: float | None = None, report_timeout_s: float | None = None) -> None:
        for name, value in (("trial_timeout_s", trial_timeout_s), ("report_timeout_s", report_timeout_s)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 seconds or None, got {value!r}")
        self.trial_timeout_s = trial_timeout_s
        self.report_timeout_s = report_timeout_s
        self._runs: dict[str, _Run] = {}
        self._iterations: dict[str, int] = {}  # kept across restarts: a retried trial goes on from there

    def started(self, trial_id: str, now: float) -> None:
        """The trial (re)started: its first run, a retry, a resume, a PBT exploit or an unpause."""
        self._runs[trial_id] = _Run(started=now, heard=now)

    def restored(self, trial_id: str, now: float) -> None:
        """The trial restored its checkpoint: the time that took is not time without a result."""
        run = self._runs.get(trial_id)
        if run is not None:
            run.heard = now

    def reported(self, trial_id: str, now: float, iteration: Any) -> None:
        """The trial reported a result (``iteration``: its ``training_iteration``, when it has one)."""
        run = self._runs.get(trial_id)
        if run is not None:
            run.heard = now
        if isinstance(iteration, int | float) and not isinstance(iteration, bool):
            self._iterations[trial_id] = int(iteration)

    def stopped(self, trial_id: str) -> None:
        """The trial is no longer running (completed, errored, requeued for a retry, paused)."""
        self._runs.pop(trial_id, None)

    def ended(self, trial_id: str) -> None:
        """The trial was ended for a limit: it is not reported again until it starts again."""
        run = self._runs.get(trial_id)
        if run is not None:
            run.ended = True

    def running(self) -> list[str]:
        """The trials counted as running now."""
        return list(self._runs)

    def overdue(self, now: float) -> list[tuple[str, str]]:
        """Each running trial past a limit at ``now`` and not yet ended, with its reason (the run limit first)."""
        out = []
        for trial_id, run in self._runs.items():
            if run.ended:
                continue
            iteration = self._iterations.get(trial_id)
            if self.trial_timeout_s is not None and now - run.started >= self.trial_timeout_s:
                out.append((trial_id, timeout_message("trial_timeout", self.trial_timeout_s, iteration)))
            elif self.report_timeout_s is not None and now - run.heard >= self.report_timeout_s:
                out.append((trial_id, timeout_message("report_timeout", self.report_timeout_s, iteration)))
        return out


def _kill(trial: Any) -> bool:
    from hpo.search.ray_compat.trial_actor import kill_trial_actor

    return kill_trial_actor(trial)


class TrialLimits(Callback):
    """Ends each running trial past ``failures.trial_timeout`` or ``failures.report_timeout``.

    Runs in the driver, bound through ``hpo.search.engine.callbacks.LiveCallbacks``; it looks on every
    step of Tune's loop (at most every half second). Ending a trial kills its actor and its processes;
    Tune retries it (``failures.max_retries``) or marks it errored.

    Args:
        trial_timeout_s: See :class:`TrialTimers`.
        report_timeout_s: See :class:`TrialTimers`.
        clock: Monotonic seconds (tests pass their own).
        end: Ends a trial's processes; returns False when the trial has none now (tried again later).
    """

    def __init__(
        self,
        *,
        trial_timeout_s: float | None = None,
        report_timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        end: Callable[[Any], bool] = _kill,
    ) -> None:
        self.timers = TrialTimers(trial_timeout_s=trial_timeout_s, report_timeout_s=report_timeout_s)
        self._clock = clock
        self._end = end
        self._trials: dict[str, Any] = {}
        self._looked_at: float | None = None
        self._reasons: set[str] = set()  # ids this callback put in _REASONS, cleared on close()

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        trial_id = str(trial.trial_id)
        _REASONS.pop(trial_id, None)  # a new run: the last one's reason is recorded already
        self._trials[trial_id] = trial
        self.timers.started(trial_id, self._clock())

    def on_trial_restore(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.timers.restored(str(trial.trial_id), self._clock())

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: Mapping[str, Any],
                        **info: Any) -> None:
        self.timers.reported(str(trial.trial_id), self._clock(), result.get("training_iteration"))

    def _stopped(self, trial: Any) -> None:
        self.timers.stopped(str(trial.trial_id))
        self._trials.pop(str(trial.trial_id), None)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._stopped(trial)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._stopped(trial)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._stopped(trial)

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._look()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._look()

    def _look(self) -> None:
        now = self._clock()
        if self._looked_at is not None and now - self._looked_at < _LOOK_EVERY_S:
            return
        self._looked_at = now
        for trial_id, reason in self.timers.overdue(now):
            trial = self._trials.get(trial_id)
            if trial is None or trial.status != "RUNNING":
                # Paused (PBT) or stopping: Tune gives no hook for a pause; a restart calls on_trial_start.
                self.timers.stopped(trial_id)
                continue
            _REASONS[trial_id] = reason  # before the kill: the failure may be seen at once
            self._reasons.add(trial_id)
            if self._end(trial):
                self.timers.ended(trial_id)
                logger.info("trial %s %s; ending it", trial_id, reason)
            else:
                _REASONS.pop(trial_id, None)  # no actor now: looked at again on the next step

    def close(self) -> None:
        """Forget the reasons this callback recorded (the sweep is over; the store has them)."""
        for trial_id in self._reasons:
            _REASONS.pop(trial_id, None)
        self._reasons.clear()


def limits_for(failures: Any) -> TrialLimits | None:
    """The callback for a spec's ``failures`` section, or None when it sets no time limit."""
    trial_s, report_s = getattr(failures, "trial_timeout", None), getattr(failures, "report_timeout", None)
    if trial_s is None and report_s is None:
        return None
    return TrialLimits(trial_timeout_s=trial_s, report_timeout_s=report_s)
