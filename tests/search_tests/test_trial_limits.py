"""failures.trial_timeout / report_timeout without Ray: the timing rule on an injected clock, the reason
texts, and the callback's choice of what to end (its end-to-end tests are in test_sweep.py and
test_pbt.py, on a real Ray)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from hpo.search.engine.trial_limits import TrialLimits, TrialTimers, limits_for, timeout_message, timeout_reason
from hpo.spaces import FailuresSpec


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Trial:
    """What the callback reads of a Tune trial: its id and status."""

    trial_id: str
    status: str = "RUNNING"


@dataclass
class Ender:
    """Stands in for killing a trial's actor (Ray's part is tested end to end): records whom it ended."""

    has_actor: bool = True
    ended: list[str] = field(default_factory=list)

    def __call__(self, trial: Any) -> bool:
        if self.has_actor:
            self.ended.append(trial.trial_id)
        return self.has_actor


def test_the_reasons_say_which_limit_how_long_and_where_the_trial_was() -> None:
    assert timeout_message("report_timeout", 600.0, 3) == (
        "timed out: no result for 600 s after iteration 3 (failures.report_timeout)")
    assert timeout_message("report_timeout", 2.5, None) == (
        "timed out: no result for 2.5 s since it started (failures.report_timeout)")
    assert timeout_message("trial_timeout", 7200.0, 3) == (
        "timed out: ran past its limit of 7200 s at iteration 3 (failures.trial_timeout)")
    assert timeout_message("trial_timeout", 7200.0, None) == (
        "timed out: ran past its limit of 7200 s before its first result (failures.trial_timeout)")
    with pytest.raises(ValueError, match="limit must be 'report_timeout' or 'trial_timeout', got 'x'"):
        timeout_message("x", 1.0, None)


def test_no_result_for_the_report_timeout_since_the_last_result() -> None:
    timers = TrialTimers(report_timeout_s=10)
    timers.started("a", 0.0)
    timers.reported("a", 5.0, 1)
    assert timers.overdue(14.9) == []
    assert timers.overdue(15.0) == [("a", timeout_message("report_timeout", 10, 1))]


def test_a_trial_that_never_reported_is_timed_from_its_start() -> None:
    timers = TrialTimers(report_timeout_s=10)
    timers.started("a", 0.0)
    timers.restored("a", 4.0)  # restoring its checkpoint is not time without a result
    assert timers.overdue(13.0) == []
    assert timers.overdue(14.0) == [("a", "timed out: no result for 10 s since it started (failures.report_timeout)")]


def test_the_trial_timeout_counts_from_the_start_whatever_it_reports() -> None:
    timers = TrialTimers(trial_timeout_s=60, report_timeout_s=10)
    timers.started("a", 0.0)
    for t in range(1, 13):
        timers.reported("a", 5.0 * t, t)
    # Both limits are past at 70 s: the run's limit is the one named.
    assert timers.overdue(59.0) == []
    assert timers.overdue(70.0) == [("a", "timed out: ran past its limit of 60 s at iteration 12 "
                                          "(failures.trial_timeout)")]


def test_a_restart_restarts_both_clocks_and_keeps_the_iteration() -> None:
    timers = TrialTimers(trial_timeout_s=60, report_timeout_s=10)
    timers.started("a", 0.0)
    timers.reported("a", 1.0, 3)
    timers.stopped("a")  # failed and requeued: not running, never overdue
    assert (timers.running(), timers.overdue(1000.0)) == ([], [])
    timers.started("a", 1000.0)  # the retry, from its checkpoint at iteration 3
    assert timers.overdue(1009.0) == []
    assert timers.overdue(1010.0) == [("a", timeout_message("report_timeout", 10, 3))]


def test_an_ended_trial_is_not_reported_again_until_it_starts_again() -> None:
    timers = TrialTimers(report_timeout_s=10)
    timers.started("a", 0.0)
    timers.started("b", 0.0)
    timers.reported("b", 5.0, 1)
    assert [t for t, _ in timers.overdue(10.0)] == ["a"]
    timers.ended("a")
    assert [t for t, _ in timers.overdue(15.0)] == ["b"]
    timers.started("a", 20.0)
    assert [t for t, _ in timers.overdue(30.0)] == ["a", "b"]


def test_no_limit_never_ends_a_trial_and_a_limit_must_be_positive() -> None:
    timers = TrialTimers()
    timers.started("a", 0.0)
    assert timers.overdue(1e9) == []
    with pytest.raises(ValueError, match=r"report_timeout_s must be > 0 seconds or None, got 0"):
        TrialTimers(report_timeout_s=0)


def test_the_callback_ends_the_trial_past_its_limit_and_leaves_the_reason_for_the_store(
        caplog: pytest.LogCaptureFixture) -> None:
    clock, ender = Clock(), Ender()
    limits = TrialLimits(report_timeout_s=5, clock=clock, end=ender)
    hung, busy = Trial("hung"), Trial("busy")
    for trial in (hung, busy):
        limits.on_trial_start(0, [hung, busy], trial)
    limits.on_trial_result(0, [hung, busy], hung, {"training_iteration": 2})
    clock.now += 4
    limits.on_trial_result(0, [hung, busy], busy, {"training_iteration": 7})
    clock.now += 1
    with caplog.at_level(logging.INFO, logger="hpo.search.engine.trial_limits"):
        limits.on_step_end(1, [hung, busy])
    assert ender.ended == ["hung"]
    reason = "timed out: no result for 5 s after iteration 2 (failures.report_timeout)"
    assert timeout_reason(hung) == reason and timeout_reason(busy) is None
    assert caplog.messages == [f"trial hung {reason}; ending it"]
    clock.now += 10  # Tune has not seen it die yet: not ended twice
    limits.on_step_end(2, [hung, busy])
    assert ender.ended == ["hung", "busy"]
    limits.on_trial_recover(3, [hung, busy], hung)  # Tune retries it: the record keeps the reason ...
    assert timeout_reason(hung) == reason
    limits.on_trial_start(4, [hung, busy], hung)  # ... until it starts again
    assert timeout_reason(hung) is None
    limits.close()
    assert timeout_reason(busy) is None


def test_the_callback_looks_at_most_twice_a_second() -> None:
    clock, ender = Clock(), Ender()
    limits = TrialLimits(report_timeout_s=0.2, clock=clock, end=ender)
    trial = Trial("a")
    limits.on_step_begin(0, [])
    limits.on_trial_start(0, [trial], trial)
    clock.now += 0.4
    limits.on_step_end(0, [trial])  # past its limit, but 0.4 s after the last look
    assert ender.ended == []
    clock.now += 0.2
    limits.on_step_begin(1, [trial])
    assert ender.ended == ["a"]
    limits.close()


def test_a_paused_trial_is_left_alone_and_one_without_an_actor_is_tried_again() -> None:
    clock, ender = Clock(), Ender(has_actor=False)
    limits = TrialLimits(trial_timeout_s=5, clock=clock, end=ender)
    paused, starting = Trial("paused", status="PAUSED"), Trial("starting")
    for trial in (paused, starting):
        limits.on_trial_start(0, [paused, starting], trial)
    clock.now += 6
    limits.on_step_end(1, [paused, starting])
    assert limits.timers.running() == ["starting"]  # PBT paused it: Tune starts it again with on_trial_start
    assert timeout_reason(starting) is None  # it had no actor to end: nothing happened to it yet
    ender.has_actor = True
    clock.now += 1
    limits.on_step_end(2, [paused, starting])
    assert ender.ended == ["starting"]
    assert timeout_reason(starting) == (
        "timed out: ran past its limit of 5 s before its first result (failures.trial_timeout)")
    limits.on_trial_error(3, [paused, starting], starting)
    assert limits.timers.running() == []
    limits.close()


def test_limits_come_from_the_spec_and_none_without_one() -> None:
    assert limits_for(FailuresSpec()) is None
    limits = limits_for(FailuresSpec(trial_timeout="2h", report_timeout="10m"))
    assert limits is not None
    assert (limits.timers.trial_timeout_s, limits.timers.report_timeout_s) == (7200.0, 600.0)


def test_the_views_retry_line_gives_the_reason_not_rays_actor_death() -> None:
    from types import SimpleNamespace

    from hpo.search.engine.progress import retry_line

    clock = Clock()
    limits = TrialLimits(report_timeout_s=600, clock=clock, end=Ender())
    trial = SimpleNamespace(trial_id="e176e_00000", status="RUNNING", checkpoint=object(), num_failures=1,
                            max_failures=1, pickled_error_file="/nonexistent/error.pkl")
    limits.on_trial_start(0, [trial], trial)
    limits.on_trial_result(0, [trial], trial, {"training_iteration": 2})
    clock.now += 600
    limits.on_step_end(1, [trial])
    assert retry_line(trial) == ("trial e176e_00000: timed out: no result for 600 s after iteration 2 "
                                 "(failures.report_timeout); retrying from its checkpoint (retry 1 of 1)")
    limits.close()
