from __future__ import annotations

import json
from typing import Any

from hpo.spaces import ParamAxis, SweepPlan, build_plan, dry_run_report, load_spec, parse_spec


def _spec(**patch: Any) -> Any:
    data = {"name": "b", "trainable": "cifar", "metric": "m", "mode": "min",
            "search": {"algorithm": "random", "num_samples": 16},
            "scheduler": {"type": "asha", "max_t": 20, "grace_period": 1, "reduction_factor": 2},
            "params": {"lr": {"type": "float", "low": 0.1, "high": 1.0}}}
    data.update(patch)
    return parse_spec(data)


def test_asha_rungs_and_expected_spend() -> None:
    plan = build_plan(_spec())
    assert plan.rungs == (1, 2, 4, 8, 16) and plan.early_stopping
    assert plan.budget_full == 16 * 20 and plan.trials == 16 and plan.trial_cap == 20
    # 16 trials x 1, 8 x 1, 4 x 2, 2 x 4, 1 x 8, then 1 x 4 (16 -> 20)
    assert plan.budget_expected == 16 + 8 + 8 + 8 + 8 + 4


def test_a_smaller_stop_caps_every_trial_and_the_rungs_it_can_reach() -> None:
    plan = build_plan(_spec(stop={"training_iteration": 10}))
    assert plan.trial_cap == 10 and plan.rungs == (1, 2, 4, 8)
    assert plan.stop == {"training_iteration": 10.0}


def test_stop_caps_max_t_and_fifo_has_no_rungs() -> None:
    plan = build_plan(_spec(stop={"training_iteration": 5}, scheduler={"type": "fifo", "max_t": 20}))
    assert plan.rungs == () and plan.trial_cap == 5 and plan.budget_expected == plan.budget_full == 80
    assert not plan.early_stopping


def test_median_stops_early_without_rungs() -> None:
    plan = build_plan(_spec(scheduler={"type": "median", "max_t": 6}))
    assert plan.early_stopping and plan.rungs == () and plan.stop == {"training_iteration": 6.0}


def test_the_stop_cap_is_the_trial_cap_only_where_the_scheduler_stops_early() -> None:
    caps = {kind: build_plan(_spec(scheduler={"type": kind, "max_t": 6}, stop={"training_iteration": 5})).stop_cap
            for kind in ("asha", "hyperband", "median", "fifo", "pbt", "pb2")}
    assert caps == {"asha": 5, "hyperband": 5, "median": 5, "fifo": None, "pbt": None, "pb2": None}
    assert "stop_cap" not in build_plan(_spec()).to_dict()  # derived: the store keeps the plan as before


def test_only_pbt_and_pb2_exploit_and_the_plan_says_what_the_spec_says() -> None:
    for kind in ("asha", "hyperband", "median", "fifo", "pbt", "pb2"):
        spec = _spec(scheduler={"type": kind, "max_t": 6})
        assert spec.scheduler.exploits is build_plan(spec).exploits is (kind in ("pbt", "pb2"))


def test_grid_budget_is_grid_size_times_num_samples() -> None:
    spec = _spec(search={"algorithm": "grid", "num_samples": 2},
                 params={"a": {"type": "choice", "values": [1, 2, 3]}, "b": {"type": "pow2", "low": 1, "high": 8}})
    assert build_plan(spec).trials == 2 * 3 * 4


def test_axes_cover_nested_groups_and_conditional_branches() -> None:
    spec = _spec(params={
        "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
        "l1": {"type": "pow2", "low": 4, "high": 64},
        "net": {"depth": {"type": "int", "low": 1, "high": 3}},
        "optimizer": {"type": "choice", "values": [
            {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99}},
            {"name": "adamw", "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}}]},
    })
    axes = {a.name: a for a in build_plan(spec).axes}
    assert list(axes) == ["lr", "l1", "net.depth", "optimizer.name", "optimizer.momentum", "optimizer.weight_decay"]
    assert axes["lr"] == ParamAxis("lr", kind="float", log=True, low=1e-4, high=0.1)
    assert axes["l1"].base2 and axes["l1"].log and (axes["l1"].low, axes["l1"].high) == (4, 64)
    assert axes["optimizer.name"].categories == ("sgd", "adamw")


def test_concurrency_is_max_concurrent_else_the_slots() -> None:
    assert build_plan(_spec()).concurrency is None
    assert build_plan(_spec(), slots=3).concurrency == 3
    assert build_plan(_spec(search={"algorithm": "random", "max_concurrent": 5}), slots=3).concurrency == 5


def test_plan_round_trips_through_json() -> None:
    plan = build_plan(load_spec("quickstart"), slots=2)
    again = SweepPlan.from_dict(json.loads(plan.to_json()))
    assert again == plan


def test_dry_run_report_is_deterministic_and_complete() -> None:
    spec = load_spec("quickstart")
    text = dry_run_report(spec, samples=3)
    assert text == dry_run_report(spec, samples=3)
    assert text.startswith(f"Sweep quickstart  (quickstart, spec {spec.spec_hash()})")
    assert "  rungs       1, 2 (then max_t 4)" in text
    assert "  training_iteration: at most 32 without early stopping (8 x 4)" in text
    assert "Sample configs (3, seed 0)" in text and "  3. {" in text


def test_dry_run_shows_the_rungs_a_smaller_stop_leaves() -> None:
    text = dry_run_report(_spec(stop={"training_iteration": 10}), samples=1)
    assert "  rungs       1, 2, 4, 8 (then max_t 10)" in text
