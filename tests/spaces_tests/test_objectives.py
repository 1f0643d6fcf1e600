"""`search.algorithm: optuna`, `search.sampler` and several objectives (`metrics:`): rules and plan."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpo.spaces import SpecError, SweepPlan, build_plan, parse_spec

_TWO = [{"name": "val_acc", "mode": "max"}, {"name": "epoch_time_s", "mode": "min"}]


def _multi(base: dict[str, Any], **over: Any) -> dict[str, Any]:
    data = {k: v for k, v in base.items() if k not in ("metric", "mode")}
    return {**data, "metrics": _TWO, "search": {"algorithm": "optuna"}, "scheduler": {"type": "fifo"}, **over}


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value.problems


def test_metrics_make_metric_and_mode_the_first_objective(base) -> None:
    spec = parse_spec(_multi(base))
    assert (spec.metric, spec.mode) == ("val_acc", "max")
    assert spec.objectives == (("val_acc", "max"), ("epoch_time_s", "min"))
    again = parse_spec(yaml.safe_load(spec.to_yaml()))
    assert again == spec and "metric" not in spec.to_dict()


def test_single_metric_spec_keeps_its_resolved_form(base) -> None:
    data = parse_spec(base).to_dict()
    assert "metrics" not in data and "sampler" not in data["search"]


def test_plan_carries_the_objectives_and_round_trips(base) -> None:
    plan = build_plan(parse_spec(_multi(base)))
    assert plan.objectives == (("val_acc", "max"), ("epoch_time_s", "min")) and plan.multi_objective
    assert SweepPlan.from_dict(plan.to_dict()) == plan
    old = {k: v for k, v in build_plan(parse_spec(base)).to_dict().items() if k != "objectives"}
    assert SweepPlan.from_dict(old).objectives == (("val_loss", "min"),)


def test_unknown_sampler(base) -> None:
    assert _problems({**base, "search": {"algorithm": "optuna", "sampler": "tpes"}}) == [
        ("search.sampler", "must be one of 'tpe', 'cmaes', 'nsga2', 'gp', 'random', got 'tpes'")]


def test_sampler_without_optuna(base) -> None:
    assert _problems({**base, "search": {"algorithm": "hyperopt", "sampler": "tpe"}}) == [
        ("search.sampler", "only for algorithm: optuna, got algorithm: hyperopt; drop sampler, "
                           "or use algorithm: optuna")]


def test_several_objectives_refuse_single_objective_searchers_and_schedulers(base) -> None:
    several = "got 2 objectives in metrics (val_acc, epoch_time_s)"
    assert _problems(_multi(base, search={"algorithm": "hyperopt"}, scheduler={"type": "asha"})) == [
        ("search.algorithm", f"hyperopt optimises one metric, {several}; use algorithm: optuna (sampler tpe or "
                             "nsga2), random or grid"),
        ("scheduler.type", f"asha ranks trials by one metric, {several}; use type: fifo (every trial runs to its cap)"),
    ]
    assert _problems(_multi(base, search={"algorithm": "optuna", "sampler": "cmaes"})) == [
        ("search.sampler", f"cmaes optimises one metric, {several}; use sampler: tpe, nsga2, gp, random")]
    for kind in ("hyperband", "median"):
        assert _problems(_multi(base, scheduler={"type": kind}))[0][0] == "scheduler.type"
    assert parse_spec(_multi(base, search={"algorithm": "random"})).objectives[1] == ("epoch_time_s", "min")


def test_both_forms_and_duplicates(base) -> None:
    data = {**_multi(base), "metric": "val_acc", "metrics": [*_TWO, {"name": "val_acc", "mode": "min"}]}
    assert _problems(data) == [
        ("metrics", "give either metric/mode or metrics, not both; got metric beside metrics "
                    "(metric/mode are the first of metrics)"),
        ("metrics[2].name", "'val_acc' is already an objective; list each metric once"),
    ]
    assert _problems(_multi(base, metrics=[{"name": "val_acc"}])) == [("metrics[0].mode", "required")]


def test_dry_run_names_every_objective(base) -> None:
    from hpo.spaces import dry_run_report

    text = dry_run_report(parse_spec(_multi(base)))
    assert "objectives val_acc (max), epoch_time_s (min): the answer is a Pareto set" in text


def test_optuna_refuses_grid_params(base) -> None:
    data = {**base, "search": {"algorithm": "optuna"}, "params": {"w": {"type": "grid", "values": [1, 2]}}}
    assert _problems(data) == [("search.algorithm", "optuna cannot sample grid params (params.w); use type: choice, "
                                                    "or algorithm: random")]


def test_cli_bad_sampler_exits_2_with_one_line(base, tmp_path) -> None:
    from hpo.search.cli.main import cli

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**base, "search": {"algorithm": "optuna", "sampler": "bogus"}}))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert "search.sampler: must be one of 'tpe', 'cmaes', 'nsga2', 'gp', 'random', got 'bogus'" in result.output
