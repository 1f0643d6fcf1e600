"""resources.workers before Ray starts: the contract check and the placement check, word for word."""

from __future__ import annotations

import pytest

from hpo.search.cluster.local import Capacity, check_resources, concurrency_slots
from hpo.search.engine.checks import contract_problems
from hpo.search.errors import ResourceError
from hpo.spaces import build_plan, parse_spec
from hpo.trainables import Contract
from hpo.trainables.config import CIFAR_CONTRACT


def _spec(resources: dict, **extra) -> object:
    return parse_spec({"name": "w", "trainable": "cifar", "metric": "val_loss", "mode": "min",
                       "resources": resources, "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1}},
                       **extra})


def test_single_process_trainable_refuses_workers() -> None:
    problems = contract_problems(_spec({"workers": 2}), Contract.of(metrics=["val_loss"]))
    assert problems == [("resources.workers", "the cifar trainable trains each trial in one process, got workers=2; "
                                              "use workers: 1, or a trainable declared with multi_worker=True")]


def test_cifar_takes_workers_and_points_gpu_two_to_workers() -> None:
    assert contract_problems(_spec({"workers": 2, "cpu": 1}), CIFAR_CONTRACT) == []
    problems = contract_problems(_spec({"gpu": 2}), CIFAR_CONTRACT)
    assert problems == [("resources.gpu", "each worker of the cifar trainable trains on one GPU, got gpu=2; use gpu: "
                                          "1 or less (a fraction packs trials onto one GPU), and resources.workers: 2 "
                                          "with gpu: 1 for 2 GPUs per trial")]


def test_workers_spread_over_nodes_and_too_many_are_refused() -> None:
    two_nodes = Capacity(((2.0, 1.0), (2.0, 1.0)), "the Ray cluster")
    check_resources(_spec({"workers": 2, "cpu": 1, "gpu": 1}), two_nodes)  # one worker per node fits
    assert concurrency_slots(_spec({"workers": 2, "cpu": 1, "gpu": 1}), two_nodes) == 1
    assert concurrency_slots(_spec({"workers": 2, "cpu": 1}), two_nodes) == 2
    with pytest.raises(ResourceError) as err:
        check_resources(_spec({"workers": 3, "cpu": 1, "gpu": 1}), two_nodes)
    assert str(err.value) == ("resources.workers: each trial needs 3 workers of 1 CPU(s) and 1 GPU(s) (3 CPU(s), "
                              "3 GPU(s) in all) but the Ray cluster holds 2 such worker(s) at once; lower "
                              "resources.workers, resources.cpu or resources.gpu")


def test_plan_counts_workers_and_the_spec_hash_is_unchanged_for_one() -> None:
    plan = build_plan(_spec({"workers": 2, "cpu": 1}, search={"max_concurrent": 4}), slots=1)
    assert (plan.resources.workers, plan.resources.trial_cpus, plan.concurrency) == (2, 2.0, 1)
    assert "workers" not in _spec({"cpu": 1}).to_dict()["resources"]
    assert _spec({"cpu": 1}).spec_hash() == _spec({"cpu": 1, "workers": 1}).spec_hash()
