"""The searchers' and schedulers' private state as the compat layer shows it (hpo.search.ray_compat.optuna,
.hyperopt, .pbt, .mlflow, .wandb): each public handle is Ray's or Optuna's private attribute. What hpo
does with them is tested through the public path in test_optuna_state, test_searchers and test_pbt."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hpo.search.ray_compat.hyperopt import RawPointsHyperOptSearch
from hpo.search.ray_compat.mlflow import MLflowRunsCallback
from hpo.search.ray_compat.optuna import study_storage
from hpo.search.ray_compat.pbt import ExploitHook
from hpo.search.searchers.build import make_searcher


def test_the_optuna_searchers_study_and_space_are_rays(make_spec: Any) -> None:
    spec = make_spec(search={"algorithm": "optuna", "seed": 0}, params={"opt": {"type": "choice", "values": [
        {"name": "a", "m": {"type": "float", "low": 0.0, "high": 1.0}}, {"name": "b"}]}})
    searcher = make_searcher(spec, max_concurrent=2).searcher
    assert searcher.study is searcher._ot_study and searcher.space is searcher._space
    assert study_storage(searcher.study) is searcher.study._storage is searcher._storage
    config = searcher.suggest("t0")
    # What the space returned: none of the values it asked for under their own names, as Ray's would merge in.
    assert list(config) == ["opt"] and config["opt"]["name"] in ("a", "b")
    assert list(searcher._ot_trials) == ["t0"]


def test_hyperopts_trials_are_rays() -> None:
    from hyperopt import hp

    searcher = RawPointsHyperOptSearch(space={"x": hp.uniform("x", 0, 1)}, metric="loss", mode="min")
    assert searcher.hyperopt_trials is searcher._hpopt_trials
    assert searcher._convert_categories_to_indices({"x": 0.5}) is None


class _Base:
    def __init__(self) -> None:
        self.calls: list[Any] = []
        self._time_attr = "training_iteration"
        self._trial_state = {"a": SimpleNamespace(last_result={"training_iteration": 4, "loss": 1.0}),
                             "b": SimpleNamespace(last_result={"training_iteration": 3})}

    def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
        self.calls.append(("exploit", trial, trial_to_clone))


class _Hooked(ExploitHook, _Base):
    def on_exploit(self, trial: Any, source: Any, **seen: Any) -> None:
        self.calls.append(("noted", trial, source, seen))


def test_the_exploit_hook_runs_after_rays_exploit_with_both_steps() -> None:
    from ray.tune.schedulers import PopulationBasedTraining

    scheduler = _Hooked()
    scheduler._exploit(None, "a", "b")
    assert scheduler.calls == [("exploit", "a", "b"), ("noted", "a", "b", {
        "at_step": 4, "from_step": 3, "result": {"training_iteration": 4, "loss": 1.0}})]
    pbt = PopulationBasedTraining(time_attr="training_iteration", hyperparam_mutations={"x": [1, 2]})
    assert pbt._time_attr == "training_iteration" and pbt._trial_state == {}


class _Trial:
    """Hashable, as Tune's trials are (the callbacks key their dicts by trial)."""

    trial_id = "t0"


def test_mlflows_run_of_a_trial_is_rays() -> None:
    callback = MLflowRunsCallback()
    trial = _Trial()
    assert callback.trial_run_id(trial) is None  # before setup, which makes Ray's dict
    callback._trial_runs = {trial: "run-1"}
    assert callback.trial_run_id(trial) == "run-1"


def test_wandbs_summary_item_goes_on_the_trials_queue() -> None:
    pytest.importorskip("wandb")
    from ray.air.integrations.wandb import _QueueItem

    from hpo.search.ray_compat.wandb import SUMMARY_ITEM, WandbRunsCallback

    callback = WandbRunsCallback(project="p", run_config={"hpo_sweep": "s"})
    trial, queued = _Trial(), []
    assert not callback.has_run(trial) and callback.run_config == {"hpo_sweep": "s"}
    callback._trial_queues[trial] = SimpleNamespace(put=queued.append)
    assert callback.has_run(trial)
    callback.set_summary(trial, {"hpo_status": "completed"})
    assert queued == [(_QueueItem.RESULT, {SUMMARY_ITEM: {"hpo_status": "completed"}})]
