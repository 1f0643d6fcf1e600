"""The picklable callback proxy that lets Tuner.restore reattach live callbacks."""

from __future__ import annotations

from typing import Any

import ray.cloudpickle as pickle

from search.callbacks import LiveCallbacks, TrialTracker, bind, unbind


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
    def __init__(self, status: str) -> None:
        self.status = status


def test_tracker_tells_interrupted_from_done() -> None:
    tracker = TrialTracker()
    tracker.setup(total_num_samples=3)
    tracker.on_step_end(iteration=1, trials=[_T("TERMINATED"), _T("ERROR"), _T("TERMINATED")])
    assert not tracker.unfinished()
    tracker.on_step_end(iteration=2, trials=[_T("TERMINATED"), _T("ERROR")])
    assert tracker.unfinished()  # a sample was never created
    tracker.on_experiment_end(trials=[_T("TERMINATED"), _T("RUNNING"), _T("TERMINATED")])
    assert tracker.unfinished() and len(tracker.errored()) == 0
