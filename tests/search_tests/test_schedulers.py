"""A scheduler ranking trials by its own metric (``scheduler: {metric, mode}``), as Ray's course code runs
``HyperOptSearch(metric="accuracy", mode="max")`` with ``ASHAScheduler(metric="loss", mode="min")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ray import tune
from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler, MedianStoppingRule

from hpo.search.schedulers.build import LineagePBT, make_scheduler

OWN = {"metric": "loss", "mode": "min"}


@pytest.mark.parametrize(("kind", "cls"), [
    ("asha", ASHAScheduler), ("hyperband", HyperBandScheduler), ("median", MedianStoppingRule), ("pbt", LineagePBT),
])
def test_a_scheduler_with_its_own_metric_is_built_with_it(make_spec, kind: str, cls: type) -> None:
    spec = make_spec(metric="accuracy", mode="max", search={"algorithm": "random"},
                     scheduler={"type": kind, "max_t": 8, "grace_period": 2, **OWN})
    sched = make_scheduler(spec)
    assert isinstance(sched, cls)
    assert sched.metric == "loss"
    # Ray's rule: a scheduler built with a metric refuses TuneConfig's (so the engine gives TuneConfig none)...
    assert sched.set_search_properties("accuracy", "max") is False
    # ...and keeps its own when TuneConfig names none, which is what Tune then calls.
    assert sched.set_search_properties(None, None) is True and sched.metric == "loss"


def test_the_sweeps_own_metric_spelt_out_under_scheduler_leaves_it_to_tune_config(make_spec) -> None:
    spec = make_spec(scheduler={"type": "asha", "max_t": 8, "metric": "loss", "mode": "min"})  # the sweep's: loss min
    assert make_scheduler(spec).set_search_properties("loss", "min") is True


@pytest.mark.parametrize("algorithm", ["optuna", "hyperopt"])
def test_the_searchers_carry_the_sweeps_metric_themselves(make_spec, algorithm: str) -> None:
    # TuneConfig names no metric when the scheduler has its own: the searcher must not need it.
    from hpo.search.searchers.build import make_searcher

    spec = make_spec(metric="accuracy", mode="max", search={"algorithm": algorithm},
                     scheduler={"type": "asha", "max_t": 8, **OWN})
    limiter = make_searcher(spec, max_concurrent=2)
    assert (limiter.searcher.metric, limiter.searcher.mode) == ("accuracy", "max")


def test_a_result_without_the_schedulers_metric_ends_the_sweep_with_one_line() -> None:
    # Ray's schedulers pass over a result that lacks their metric: unchecked, a trainable that declares
    # nothing and never reports it would run with no trial ever stopped early.
    from hpo.search.engine.callbacks import PlanStopper
    from hpo.search.errors import MetricNotReportedError

    stopper = PlanStopper("test-own-metric", metric="accuracy", criteria={"training_iteration": 2},
                          scheduler_metric="loss")
    assert stopper("t1", {"accuracy": 0.5, "loss": 1.0, "training_iteration": 1}) is False
    with pytest.raises(MetricNotReportedError) as info:
        stopper("t1", {"accuracy": 0.5, "val_loss": 1.0, "training_iteration": 1})
    assert str(info.value) == ("trial t1 reported no 'loss' (the scheduler's metric); it reported: accuracy, "
                               "val_loss; report it with ray.tune.report, or set scheduler.metric: to one of those")
    PlanStopper.clear("test-own-metric")


def course(config: dict[str, Any]) -> None:
    """``accuracy = loss = x``: the trial the sweep ranks best (highest accuracy) is the scheduler's worst."""
    for _ in range(2):
        tune.report({"accuracy": config["x"], "loss": config["x"]})


@pytest.mark.integration
def test_asha_stops_trials_by_the_schedulers_metric_while_the_store_ranks_by_the_sweeps(
    ray_session: None, tmp_home: Path, make_spec
) -> None:
    from hpo.results import Store, export_report
    from hpo.search import run_sweep

    # One trial at a time, in the grid's order: at ASHA's rung (iteration 1) each trial has a higher loss
    # than every one before it, so ranked by loss (min) the second and third are stopped there; ranked
    # by the sweep's accuracy (max) none would be.
    spec = make_spec(name="course", metric="accuracy", mode="max",
                     search={"algorithm": "grid", "num_samples": 1, "max_concurrent": 1},
                     scheduler={"type": "asha", "max_t": 2, "grace_period": 1, "reduction_factor": 2, **OWN},
                     params={"x": {"type": "grid", "values": [0.1, 0.2, 0.3]}}, fixed={})
    outcome = run_sweep(spec, trainable=course, progress="none")
    assert outcome.status == "finished"
    trials = {t.config["x"]: t for t in Store.open().trials("course")}
    assert {x: (t.status, t.iterations) for x, t in trials.items()} == {
        0.1: ("completed", 2), 0.2: ("stopped_early", 1), 0.3: ("stopped_early", 1)}
    assert outcome.best is not None and outcome.best.config["x"] == 0.3  # the store ranks by accuracy (max)
    assert (outcome.plan.metric, outcome.plan.ranked_by) == ("accuracy", ("loss", "min"))
    report = export_report("course", fmt="md", path=tmp_home / "course.md").read_text()
    assert "ranks by loss (min)" in report.split("## The sweep", 1)[1].split("\n## ", 1)[0]
