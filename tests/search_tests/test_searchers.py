"""Searcher and scheduler factories (no Ray instance needed)."""

from __future__ import annotations

import pytest
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler, MedianStoppingRule
from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter
from ray.tune.search.hyperopt import HyperOptSearch

from search.schedulers import make_scheduler
from search.searchers import make_searcher, param_space


def test_hyperopt_is_limited_to_the_slots_and_seeded(make_spec) -> None:
    spec = make_spec(search={"algorithm": "hyperopt", "num_samples": 4, "seed": 3})
    alg = make_searcher(spec, max_concurrent=2)
    assert isinstance(alg, ConcurrencyLimiter) and alg.max_concurrent == 2
    assert isinstance(alg.searcher, HyperOptSearch)
    assert alg.searcher.metric == "loss" and alg.searcher.mode == "min"
    # HyperOpt gets only constants in param_space; the searched space lives in the searcher.
    assert param_space(spec) == {"max_iter": 8}
    a = [make_searcher(spec, max_concurrent=2).suggest(f"t{i}")["x"] for i in range(3)]
    b = [make_searcher(spec, max_concurrent=2).suggest(f"t{i}")["x"] for i in range(3)]
    assert a == b


def test_hyperopt_points_to_evaluate_come_first(make_spec) -> None:
    spec = make_spec(search={"algorithm": "hyperopt", "points_to_evaluate": [{"x": 0.25}]})
    alg = make_searcher(spec, max_concurrent=1)
    assert alg.suggest("t0") == {"x": 0.25}


def test_random_and_grid_use_a_seeded_basic_variant_generator(make_spec) -> None:
    spec = make_spec(search={"algorithm": "grid", "num_samples": 1}, params={"x": {"type": "grid", "values": [0, 1]}})
    alg = make_searcher(spec, max_concurrent=2)
    assert isinstance(alg, BasicVariantGenerator)
    assert param_space(spec)["x"] == {"grid_search": [0, 1]}


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("asha", ASHAScheduler),
        ("hyperband", HyperBandScheduler),
        ("median", MedianStoppingRule),
        ("fifo", FIFOScheduler),
    ],
)
def test_schedulers_leave_metric_and_mode_to_tune_config(make_spec, kind: str, cls: type) -> None:
    sched = make_scheduler(make_spec(scheduler={"type": kind, "max_t": 8, "grace_period": 2}))
    assert isinstance(sched, cls)
    assert getattr(sched, "_metric", None) is None


def test_asha_gets_the_spec_budget(make_spec) -> None:
    sched = make_scheduler(make_spec(scheduler={"type": "asha", "max_t": 9, "grace_period": 1, "reduction_factor": 3}))
    assert sched._max_t == 9 and sched._reduction_factor == 3
