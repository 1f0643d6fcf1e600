"""``run_sweep`` checks the spec before its name, and reports a name clash with the spec's problems (no Ray:
every case here is refused before Ray starts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo.results import Store
from hpo.search import SweepExistsError, run_sweep
from hpo.spaces import SpecError, parse_spec
from hpo.trainables import contract_of

CIFAR_METRICS = ", ".join(contract_of("cifar").metrics or ())
SEARCH_KEYS = "algorithm, sampler, num_samples, max_concurrent, seed, points_to_evaluate, warm_start"
FINISHED = "sweep 'taken' already finished in the store; choose another name with --name NEW_NAME"


def _data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "taken", "trainable": "cifar", "metric": "val_acc", "mode": "max",
                            "search": {"algorithm": "random", "num_samples": 1},
                            "params": {"lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}},
                            "fixed": {"dataset": "synthetic", "epochs": 1}}
    data.update(over)
    return data


@pytest.fixture
def taken(tmp_home: Path) -> Store:
    """A store that already holds a finished sweep named ``taken``."""
    store = Store.open()
    store.start_sweep(name="taken", spec_yaml="", spec_hash="", metric="val_acc", mode="max")
    store.finish_sweep("taken", "finished")
    return store


def test_a_contract_problem_and_a_taken_name_come_in_one_error(taken: Store) -> None:
    spec = parse_spec(_data(metric="accuracy", fixed={"dataset": "synthetic", "epoch": 1}), source="typo.yaml")
    with pytest.raises(SpecError) as info:
        run_sweep(spec, progress="none")
    assert str(info.value) == f"""typo.yaml: 3 problems
  metric: the cifar trainable does not report 'accuracy'; it reports: {CIFAR_METRICS}
  fixed.epoch: {info.value.problems[1][1]}
  name: {FINISHED}"""
    assert info.value.problems[1][1].startswith(
        "the cifar trainable has no config key 'epoch' (did you mean 'epochs'?)")


def test_a_spec_given_as_a_dict_with_a_problem_and_a_taken_name_come_in_one_error(taken: Store) -> None:
    data = _data(search={"algorithm": "random", "num_samples": 1, "metric": "accuracy"})
    with pytest.raises(SpecError) as info:
        run_sweep(data, store=taken, progress="none")
    assert info.value.problems == [
        ("search.metric", "unknown key (did you mean the top-level metric:? the searcher optimises the sweep's "
                          f"metric; scheduler.metric gives the scheduler another); allowed: {SEARCH_KEYS}"),
        ("name", FINISHED),
    ]


def test_the_spec_alone_is_reported_when_the_name_is_free(tmp_home: Path) -> None:
    spec = parse_spec(_data(name="free", metric="accuracy"), source="typo.yaml")
    with pytest.raises(SpecError) as info:
        run_sweep(spec, progress="none")
    assert str(info.value) == (f"typo.yaml: 1 problem\n  metric: the cifar trainable does not report 'accuracy'; "
                               f"it reports: {CIFAR_METRICS}")


def test_a_good_spec_under_a_taken_name_is_refused_as_before(taken: Store) -> None:
    with pytest.raises(SweepExistsError) as info:
        run_sweep(parse_spec(_data()), progress="none")
    assert str(info.value) == FINISHED
