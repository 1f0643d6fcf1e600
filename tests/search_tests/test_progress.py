"""The progress view's plain mode and its counting, fed by hand (no Ray)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from hpo.search.engine.progress import ProgressView, resolve_mode
from hpo.spaces import SweepPlan, build_plan, parse_spec


def _plan(metric: str, mode: str, max_t: int, params: dict[str, Any], samples: int) -> SweepPlan:
    return build_plan(parse_spec({
        "name": "s", "trainable": "t:t", "metric": metric, "mode": mode,
        "search": {"algorithm": "random", "num_samples": samples},
        "scheduler": {"type": "asha", "max_t": max_t}, "params": params}))


class _Trial:
    def __init__(self, tid: str, status: str, config: dict[str, Any]) -> None:
        self.trial_id, self.status, self.config = tid, status, config
        self.last_result: dict[str, Any] = {}
        self.stopping_criterion: dict[str, Any] = {}
        self.path = f"/runs/ray/s/{tid}"


def test_plain_view_counts_states_and_follows_the_best() -> None:
    out = io.StringIO()
    plan = _plan("loss", "min", 4, {"x": {"type": "int", "low": 1, "high": 3}}, samples=3)
    view = ProgressView(plan, mode_view="plain", stream=out)
    view.setup(total_num_samples=3)
    a, b, c = _Trial("a", "RUNNING", {"x": 1}), _Trial("b", "RUNNING", {"x": 2}), _Trial("c", "RUNNING", {})
    trials = [a, b, c]
    for t in range(1, 5):
        view.on_trial_result(iteration=t, trials=trials, trial=a, result={"loss": 1.0 / t, "training_iteration": t})
    view.on_trial_result(iteration=5, trials=trials, trial=b, result={"loss": 0.1, "training_iteration": 1,
                                                                      "done": True})  # Tune stops it here
    a.status, b.status, c.status = "TERMINATED", "TERMINATED", "ERROR"
    a.last_result = {"loss": 0.25}
    view.on_trial_complete(iteration=6, trials=trials, trial=a)
    view.on_trial_complete(iteration=6, trials=trials, trial=b)
    view.on_trial_error(iteration=6, trials=trials, trial=c)
    assert view.counts() == {"running": 0, "pending": 0, "completed": 1, "stopped early": 1, "errored": 1}
    assert view.best == (0.1, "b", {"x": 2})
    assert view.budget() == (5, 12)
    lines = out.getvalue().splitlines()
    assert lines == [
        "trial a completed after 4 iteration(s), loss=0.25",
        "trial b stopped early after 1 iteration(s)",
        "trial c errored (logs: /runs/ray/s/c)",
    ]
    assert "completed 1 | stopped early 1 | errored 1 | iterations 5/12 | best loss=0.1 (b)" in view.status_line()


def test_live_view_renders_without_a_terminal() -> None:
    out = io.StringIO()
    plan = _plan("acc", "max", 2, {"lr": {"type": "float", "low": 0.01, "high": 1},
                                   "opt": {"type": "choice", "values": [{"name": "sgd"}]}}, samples=1)
    view = ProgressView(plan, mode_view="live", stream=out)
    view.setup(total_num_samples=1)
    t = _Trial("a", "RUNNING", {"lr": 0.1, "opt": {"name": "sgd"}})
    view.on_trial_result(iteration=1, trials=[t], trial=t, result={"acc": 0.5, "training_iteration": 1})
    view.close()
    text = out.getvalue()
    assert "hpo sweep s" in text and "best acc" in text and "lr=0.1" in text


def test_mode_resolution() -> None:
    assert resolve_mode(None, io.StringIO()) == "plain"  # not a TTY
    assert resolve_mode("none") == "none"
    with pytest.raises(ValueError, match="progress: expected auto, live, plain or none, got 'loud'"):
        resolve_mode("loud")
