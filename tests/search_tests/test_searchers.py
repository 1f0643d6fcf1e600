"""Searcher and scheduler factories (no Ray instance needed)."""

from __future__ import annotations

from typing import Any

import pytest
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler, MedianStoppingRule
from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter
from ray.tune.search.hyperopt import HyperOptSearch

from hpo.search.schedulers.build import make_scheduler
from hpo.search.searchers.build import make_searcher, param_space


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
    # Tune's own call: it succeeds only on a scheduler that has no metric/mode of its own yet.
    assert sched.set_search_properties("loss", "min") is True


@pytest.mark.parametrize(("max_t", "grace", "rf"), [(9, 1, 3), (20, 1, 2), (16, 2, 2), (10, 1, 4)])
def test_ashas_rungs_are_the_plans(make_spec, max_t: int, grace: int, rf: int) -> None:
    import re

    from hpo.spaces import build_plan

    spec = make_spec(scheduler={"type": "asha", "max_t": max_t, "grace_period": grace, "reduction_factor": rf})
    plan = build_plan(spec)
    # Ray's ASHA prints its rung milestones in its public debug string; one at max_t itself (when
    # max_t is grace * rf**k) stops nothing that the cap does not, so the plan leaves it out.
    milestones = sorted(float(m) for m in re.findall(r"Iter ([0-9.]+)", make_scheduler(spec).debug_string()))
    assert [m for m in milestones if m < plan.trial_cap] == [float(r) for r in plan.rungs]


def test_hyperopt_takes_nested_conditional_warm_start_points(make_spec) -> None:
    # Warm-start points inside a choice of groups reach HyperOpt in its own form (the override of
    # HyperOptSearch._convert_categories_to_indices in search/hyperopt_points.py): if Ray renames
    # that method, Ray re-converts these points and the suggested config below breaks.
    params = {"opt": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99},
         "nest": {"type": "choice", "values": [True, False]}},
        {"name": "adamw", "wd": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True}}]},
        "width": {"type": "choice", "values": [16, 32, 64]}}
    points = [{"opt": {"name": "adamw", "wd": 0.001}, "width": 32},
              {"opt": {"name": "sgd", "momentum": 0.9, "nest": False}, "width": 64}]
    spec = make_spec(search={"algorithm": "hyperopt", "points_to_evaluate": points}, params=params)
    alg = make_searcher(spec, max_concurrent=2)
    first, second = alg.suggest("t0"), alg.suggest("t1")
    assert (first["opt"], first["width"]) == ({"name": "adamw", "wd": 0.001}, 32)
    assert (second["opt"], second["width"]) == ({"name": "sgd", "momentum": 0.9, "nest": False}, 64)


def _evaluated(points: list[dict[str, Any]], values: list[float]) -> Any:
    from hpo.search.engine.warm_start import EvaluatedPoints

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


def test_optuna_models_evaluated_points_as_finished_trials(make_spec) -> None:
    spec = make_spec(search={"algorithm": "optuna", "num_samples": 6, "seed": 0}, params={
        "x": {"type": "float", "low": -1.0, "high": 1.0},
        "opt": {"type": "choice", "values": [{"name": "a", "m": {"type": "float", "low": 0.0, "high": 1.0}},
                                             {"name": "b"}]},
        "w": {"type": "pow2", "low": 4, "high": 64}})
    good, bad = {"x": 0.3, "opt": {"name": "a", "m": 0.5}, "w": 16}, {"x": -0.9, "opt": {"name": "b"}, "w": 64}
    searcher = make_searcher(spec, max_concurrent=2, evaluated=_evaluated([good, bad] * 15, [0.0, 5.0] * 15)).searcher
    # TPE learnt from the 30 earlier trials: the branch that did well is proposed (nearly) every time.
    names = [searcher.suggest(f"t{i}")["opt"]["name"] for i in range(6)]
    assert names.count("a") >= 5, names


@pytest.mark.parametrize(("search", "scheduler", "resources", "limit"), [
    ({"algorithm": "optuna"}, {"type": "asha"}, {"cpu": 1}, 5),  # the 4 slots, and one waiting
    ({"algorithm": "hyperopt"}, {"type": "fifo"}, {"cpu": 1}, 5),
    ({"algorithm": "random"}, {"type": "asha"}, {"cpu": 1}, 0),  # no limit, as Tune's default
    ({"algorithm": "optuna", "max_concurrent": 4}, {"type": "asha"}, {"cpu": 1}, 4),  # the user's
    ({"algorithm": "random", "max_concurrent": 2}, {"type": "asha"}, {"cpu": 1}, 2),
    ({"algorithm": "random"}, {"type": "pbt"}, {"cpu": 1}, 4),  # no waiting trial in the population
    ({"algorithm": "optuna"}, {"type": "asha"}, {"cpu": 1, "workers": 2}, 2),  # Ray Train holds the workers
])
def test_the_searcher_leaves_a_trial_waiting_for_a_finished_trials_actor_unless_told_a_limit(
    make_spec: Any, search: dict[str, Any], scheduler: dict[str, Any], resources: dict[str, Any], limit: int
) -> None:
    from hpo.search.searchers.build import searcher_limit
    from hpo.spaces import build_plan

    spec = make_spec(search=search, scheduler=scheduler, resources=resources)
    slots = 4 // spec.resources.workers
    assert searcher_limit(spec, build_plan(spec, slots=slots)) == limit
