"""``scheduler: {metric, mode}``: a scheduler ranking trials by another metric than the sweep's (the course
code's ``HyperOptSearch(metric="accuracy", mode="max")`` with ``ASHAScheduler(metric="loss", mode="min")``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hpo.spaces import SpecError, SweepPlan, build_plan, dry_run_report, parse_spec

SEARCH_KEYS = "algorithm, sampler, num_samples, max_concurrent, seed, points_to_evaluate, warm_start"


def _data(**scheduler: Any) -> dict[str, Any]:
    return {"name": "course", "trainable": "cifar", "metric": "val_acc", "mode": "max",
            "search": {"algorithm": "hyperopt", "num_samples": 4, "seed": 0},
            "scheduler": {"type": "asha", "max_t": 4, "grace_period": 1, **scheduler},
            "params": {"lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True}}}


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value.problems


def test_the_plan_carries_the_schedulers_own_metric_and_the_sweep_keeps_its_own() -> None:
    plan = build_plan(parse_spec(_data(metric="val_loss", mode="min")))
    assert (plan.metric, plan.mode) == ("val_acc", "max")  # the searcher's, the store's, the best trial's
    assert (plan.scheduler_metric, plan.scheduler_mode) == ("val_loss", "min")
    assert plan.ranked_by == ("val_loss", "min")
    assert SweepPlan.from_dict(json.loads(plan.to_json())) == plan


def test_without_one_the_scheduler_ranks_by_the_sweeps_metric() -> None:
    plan = build_plan(parse_spec(_data()))
    assert (plan.scheduler_metric, plan.scheduler_mode, plan.ranked_by) == (None, None, ("val_acc", "max"))
    same = build_plan(parse_spec(_data(metric="val_acc", mode="max")))  # the sweep's own, spelt out: no override
    assert (same.scheduler_metric, same.ranked_by) == (None, ("val_acc", "max"))


def test_a_plan_stored_before_scheduler_metrics_reads_as_ranking_by_the_sweeps() -> None:
    stored = build_plan(parse_spec(_data())).to_dict()
    del stored["scheduler_metric"], stored["scheduler_mode"]
    assert SweepPlan.from_dict(stored).ranked_by == ("val_acc", "max")


def test_the_resolved_spec_and_its_hash_are_unchanged_without_a_scheduler_metric() -> None:
    plain = parse_spec(_data())
    assert list(plain.to_dict()["scheduler"]) == ["type", "max_t", "grace_period", "reduction_factor", "time_attr"]
    own = parse_spec(_data(metric="val_loss", mode="min"))
    assert own.to_dict()["scheduler"]["metric"] == "val_loss" and own.to_dict()["scheduler"]["mode"] == "min"
    assert own.spec_hash() != plain.spec_hash()
    assert parse_spec(own.to_dict()) == own  # the stored YAML gives the spec back (resume, extend)


@pytest.mark.parametrize(("scheduler", "problem"), [
    ({"metric": "val_loss"},
     ("scheduler.mode", "required with scheduler.metric: min or max, the way the scheduler ranks 'val_loss'")),
    ({"mode": "min"},
     ("scheduler.mode", "needs scheduler.metric, the metric the scheduler ranks by; without one it ranks by the "
                        "sweep's val_acc (max): drop scheduler.mode")),
    ({"type": "fifo", "metric": "val_loss", "mode": "min"},
     ("scheduler.metric", "fifo ranks no trials (it stops none early); drop scheduler.metric and scheduler.mode, "
                          "or use type: asha")),
    ({"metric": "val_acc", "mode": "min"},
     ("scheduler.mode", "the scheduler would rank 'val_acc' min while the sweep ranks it max, and stop the trials "
                        "the sweep wants; drop scheduler.metric and scheduler.mode")),
    ({"metric": "val_loss", "mode": "lowest"},
     ("scheduler.mode", "must be one of 'min', 'max', got 'lowest'")),
])
def test_a_scheduler_metric_needs_its_mode_a_ranking_scheduler_and_sense(
    scheduler: dict[str, Any], problem: tuple[str, str]
) -> None:
    assert _problems(_data(**scheduler)) == [problem]


def test_a_sweep_metric_written_as_metrics_is_checked_the_same_way() -> None:
    data = _data(metric="val_loss", mode="max")
    del data["metric"], data["mode"]
    data["metrics"] = [{"name": "val_loss", "mode": "min"}]
    assert _problems(data) == [
        ("scheduler.mode", "the scheduler would rank 'val_loss' max while the sweep ranks it min, and stop the "
                           "trials the sweep wants; drop scheduler.metric and scheduler.mode")]


def test_several_objectives_still_need_fifo_whatever_the_scheduler_ranks_by() -> None:
    # A Pareto set compares trials at the same budget: no scheduler stops some of them early.
    data = _data(metric="val_loss", mode="min")
    del data["metric"], data["mode"]
    data["metrics"] = [{"name": "val_acc", "mode": "max"}, {"name": "epoch_time_s", "mode": "min"}]
    data["search"] = {"algorithm": "optuna", "num_samples": 4}
    assert [path for path, _ in _problems(data)] == ["scheduler.type"]


def test_pbt_exploits_by_its_own_metric_too() -> None:
    data = _data(type="pbt", metric="val_loss", mode="min")
    data["search"] = {"algorithm": "random", "num_samples": 4}
    plan = build_plan(parse_spec(data))
    assert plan.exploits and plan.ranked_by == ("val_loss", "min")


def test_search_metric_and_mode_point_to_where_they_go() -> None:
    # Ray Tune's code gives the searcher its metric (HyperOptSearch(metric=..., mode=...)); a spec does not.
    data = _data()
    data["search"] = {**data["search"], "metric": "accuracy", "mode": "max"}
    assert _problems(data) == [
        ("search.metric", "unknown key (did you mean the top-level metric:? the searcher optimises the sweep's "
                          f"metric; scheduler.metric gives the scheduler another); allowed: {SEARCH_KEYS}"),
        ("search.mode", "unknown key (did you mean the top-level mode:? the searcher follows the sweep's mode; "
                        f"scheduler.mode goes with scheduler.metric); allowed: {SEARCH_KEYS}"),
    ]


def test_the_dry_run_says_what_the_scheduler_ranks_by() -> None:
    own = dry_run_report(parse_spec(_data(metric="val_loss", mode="min")), samples=1).splitlines()
    assert own[3] == "  scheduler   asha: max_t 4, grace 1, rf 2 (training_iteration); ranks by val_loss (min)"
    assert own[1] == "  trainable   cifar; metric val_acc (max)"
    plain = dry_run_report(parse_spec(_data()), samples=1).splitlines()
    assert plain[3] == "  scheduler   asha: max_t 4, grace 1, rf 2 (training_iteration)"


def test_a_spec_error_keeps_a_well_formed_name_for_the_name_check() -> None:
    data = _data()
    data["search"]["metric"] = "accuracy"
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert info.value.name == "course"
    with pytest.raises(SpecError) as bad:
        parse_spec({**data, "name": "no spaces allowed"})
    assert bad.value.name is None  # the name is itself one of the problems: nothing to look up
    with pytest.raises(SpecError) as missing:
        parse_spec({k: v for k, v in data.items() if k != "name"})
    assert missing.value.name is None
