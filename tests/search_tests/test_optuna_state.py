"""Optuna searchers pickle as plain data and resume, for every sampler, one and several objectives.

Ray pickles the searcher into ``tuner.pkl`` when the ``Tuner`` is built and checkpoints it into
the experiment directory while it runs; ``hpo resume`` reads both. No Ray instance is needed:
these drive Ray's own searcher classes and checkpoint code.
"""

from __future__ import annotations

import io
import pickle
import threading
from pathlib import Path
from typing import Any

import optuna
import pytest
from ray import cloudpickle
from ray.tune.search import SearchGenerator

from hpo.search.searchers.build import make_searcher
from hpo.spaces import parse_spec

# Every sampler with one objective and every one that takes several (CMA-ES takes one).
CASES = [pytest.param(s, False, id=f"{s}-one-objective") for s in ("tpe", "cmaes", "nsga2", "gp", "random")] + [
    pytest.param(s, True, id=f"{s}-several-objectives") for s in ("tpe", "nsga2", "gp", "random")]
_LIVE = (optuna.samplers.BaseSampler, optuna.study.Study, optuna.storages.BaseStorage, optuna.trial.Trial,
         type(threading.Lock()), type(threading.RLock()))


def _spec(sampler: str, *, several: bool) -> Any:
    objectives: dict[str, Any] = (
        {"metrics": [{"name": "loss", "mode": "min"}, {"name": "cost", "mode": "min"}]} if several
        else {"metric": "loss", "mode": "min"})
    return parse_spec({
        "name": "state", "trainable": "toy:two_objectives", **objectives,
        "search": {"algorithm": "optuna", "sampler": sampler, "num_samples": 8, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": 2},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}, "k": {"type": "int", "low": 1, "high": 9}},
        "fixed": {"max_iter": 2},
    }, source="test")


def _result(config: dict[str, Any], t: int = 1) -> dict[str, Any]:
    return {"loss": (config["x"] - 0.3) ** 2, "cost": abs(config["x"]), "training_iteration": t}


class _NoLivePickler(pickle.Pickler):
    """Refuses to pickle any of Optuna's live objects, or a lock."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LIVE):
            raise AssertionError(f"pickled a live {type(obj).__module__}.{type(obj).__qualname__}")
        return NotImplemented


def _started(sampler: str, several: bool) -> tuple[Any, list[dict[str, Any]]]:
    """A searcher with 4 trials asked: t0 and t1 finished, t2 and t3 running (t2 has reported)."""
    alg = make_searcher(_spec(sampler, several=several), max_concurrent=8)
    configs = [alg.suggest(f"t{i}") for i in range(4)]
    for i in (0, 1):
        alg.on_trial_result(f"t{i}", _result(configs[i]))
        alg.on_trial_complete(f"t{i}", _result(configs[i]))
    alg.on_trial_result("t2", _result(configs[2]))
    return alg, configs


def _carry_on(alg: Any, configs: list[dict[str, Any]]) -> None:
    """The restored searcher ends the two running trials, then asks a new one that is no replay."""
    for i in (2, 3):
        alg.on_trial_result(f"t{i}", _result(configs[i], 2))
        alg.on_trial_complete(f"t{i}", _result(configs[i], 2))
    new = alg.suggest("t4")
    assert -1.0 <= new["x"] <= 1.0 and 1 <= new["k"] <= 9
    # A sampler seeded as before would draw t0's values again.
    assert new["x"] not in {c["x"] for c in configs}
    study = alg.searcher.study
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4 + ["RUNNING"]
    values = [t.values for t in study.trials[:4]]
    expected = [[_result(c)["loss"], _result(c)["cost"]] if len(study.directions) == 2 else [_result(c)["loss"]]
                for c in configs]
    assert values == expected


@pytest.mark.parametrize(("sampler", "several"), CASES)
def test_searcher_pickles_without_live_optuna_objects(sampler: str, several: bool) -> None:
    alg, _ = _started(sampler, several)
    _NoLivePickler(io.BytesIO()).dump(alg)


@pytest.mark.parametrize(("sampler", "several"), CASES)
def test_searcher_survives_the_tuners_pickling(sampler: str, several: bool) -> None:
    alg, configs = _started(sampler, several)
    _carry_on(pickle.loads(cloudpickle.dumps(alg)), configs)


@pytest.mark.parametrize(("sampler", "several"), CASES)
def test_searcher_resumes_from_its_experiment_checkpoint(tmp_path: Path, sampler: str, several: bool) -> None:
    alg, configs = _started(sampler, several)
    # Tune's driver checkpoints the searcher and its wrappers (ConcurrencyLimiter) through SearchGenerator.
    SearchGenerator(alg).save_to_dir(str(tmp_path), session_str="killed")
    del alg  # what a SIGKILLed driver leaves: the checkpoint alone
    fresh = make_searcher(_spec(sampler, several=several), max_concurrent=8)
    SearchGenerator(fresh).restore_from_dir(str(tmp_path))
    _carry_on(fresh, configs)
