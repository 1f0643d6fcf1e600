"""The picklable callback proxy that lets Tuner.restore reattach live callbacks."""

from __future__ import annotations

from typing import Any

import ray.cloudpickle as pickle

from hpo.search.engine.callbacks import LiveCallbacks, TrialTracker, bind, unbind


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, hook: str) -> Any:
        return lambda **info: self.calls.append((hook, info))


def test_proxy_pickles_as_its_key_and_forwards_to_what_is_bound_now() -> None:
    proxy = LiveCallbacks("k-test")
    copy = pickle.loads(pickle.dumps(proxy))
    first, second = _Recorder(), _Recorder()
    bind("k-test", [first])
    copy.on_trial_start(iteration=1, trials=[], trial="t1")
    bind("k-test", [second])  # a resumed run binds fresh callbacks under the same key
    copy.on_experiment_end(trials=[])
    unbind("k-test")
    copy.on_step_end(iteration=2, trials=[])  # unbound: a no-op
    assert first.calls == [("on_trial_start", {"iteration": 1, "trials": [], "trial": "t1"})]
    assert second.calls == [("on_experiment_end", {"trials": []})]


class _T:
    def __init__(self, trial_id: str, status: str) -> None:
        self.trial_id, self.status = trial_id, status


def test_tracker_tells_interrupted_from_done() -> None:
    tracker = TrialTracker()
    tracker.setup(total_num_samples=3)
    # A resumed sweep: two trials were over before this run first saw them.
    a, b, c = _T("a", "TERMINATED"), _T("b", "ERROR"), _T("c", "PENDING")
    tracker.on_step_end(iteration=1, trials=[a, b])
    assert tracker.unfinished()  # a sample was never created
    tracker.on_step_end(iteration=2, trials=[a, b, c])
    c.status = "RUNNING"
    assert tracker.unfinished()
    c.status = "TERMINATED"
    tracker.on_trial_complete(iteration=3, trials=[a, b, c], trial=c)
    tracker.on_experiment_end(trials=[a, b, c])
    assert not tracker.unfinished() and tracker.errored() == [b]


def test_a_running_trial_that_tune_terminates_as_it_cleans_up_is_unfinished() -> None:
    tracker = TrialTracker()
    tracker.setup(total_num_samples=2)
    a, b = _T("a", "RUNNING"), _T("b", "RUNNING")
    tracker.on_step_end(iteration=1, trials=[a, b])
    tracker.on_trial_complete(iteration=2, trials=[a, b], trial=a)
    a.status = b.status = "TERMINATED"  # Ctrl-C / `hpo stop`: Tune's cleanup marks b TERMINATED too
    tracker.on_experiment_end(trials=[a, b])
    assert tracker.unfinished()
