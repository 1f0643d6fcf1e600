"""Searcher and scheduler factories (no Ray instance needed)."""

from __future__ import annotations

from typing import Any

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


def _evaluated(points: list[dict[str, Any]], values: list[float]) -> Any:
    from search.warm_start import EvaluatedPoints

    return EvaluatedPoints(source="earlier", points=points, values=values, considered=len(points))


def test_hyperopt_models_evaluated_points_as_finished_trials(make_spec) -> None:
    spec = make_spec(search={"algorithm": "hyperopt", "num_samples": 5, "seed": 0}, params={
        "x": {"type": "float", "low": -1.0, "high": 1.0},
        "opt": {"type": "choice", "values": [{"name": "a", "m": {"type": "float", "low": 0.0, "high": 1.0}},
                                             {"name": "b"}]}})
    good, bad = {"x": 0.3, "opt": {"name": "a", "m": 0.5}}, {"x": -0.9, "opt": {"name": "b"}}
    searcher = make_searcher(spec, max_concurrent=2, evaluated=_evaluated([good, bad] * 15, [0.0, 5.0] * 15)).searcher
    # 30 finished trials (past TPE's 20 random start-up ones): every proposal takes the branch that did well.
    assert [searcher.suggest(f"t{i}")["opt"]["name"] for i in range(5)] == ["a"] * 5


def test_random_search_runs_evaluated_points_first(make_spec) -> None:
    spec = make_spec(search={"algorithm": "random", "num_samples": 3, "points_to_evaluate": [{"x": 0.1}]})
    searcher = make_searcher(spec, max_concurrent=2, evaluated=_evaluated([{"x": 0.5}], [1.0]))
    assert searcher._points_to_evaluate == [{"x": 0.1}, {"x": 0.5}]
