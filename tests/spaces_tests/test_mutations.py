from __future__ import annotations

from typing import Any

import pytest

from hpo.spaces import ConfigClip, SpecError, build_plan, parse_spec, to_pb2_bounds, to_pbt_mutations

PARAMS: dict[str, Any] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.8, "high": 0.99},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
    "batch_size": {"type": "pow2", "low": 32, "high": 128},
    "depth": {"type": "int", "low": 1, "high": 4},
    "schedule": {"type": "choice", "values": ["constant", "cosine"]},
    "optimizer": {"type": "choice", "values": [{"name": "sgd", "nesterov": {"type": "choice", "values": [True, False]}},
                                              {"name": "adamw"}]},
    "opt": {"wd": {"type": "float", "low": 0.0, "high": 0.1}},
}


def _pbt(base: dict[str, Any], **scheduler: Any) -> dict[str, Any]:
    base["scheduler"] = {"type": "pbt", "max_t": 8, **scheduler}
    base["params"] = dict(PARAMS)
    return base


def _problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value.problems


def test_pbt_mutates_every_param_but_choices_of_groups(base: dict[str, Any]) -> None:
    from ray import tune

    spec = parse_spec(_pbt(base))
    mutations = to_pbt_mutations(spec)
    assert list(mutations) == ["lr", "momentum", "dropout", "batch_size", "depth", "schedule", "opt"]
    assert isinstance(mutations["lr"], tune.search.sample.Float)
    assert mutations["dropout"] == [0.0, 0.25, 0.5]  # stepped: shifted along its values, never off the step
    assert mutations["batch_size"] == [32, 64, 128]
    assert mutations["schedule"] == ["constant", "cosine"]
    assert (mutations["depth"].lower, mutations["depth"].upper) == (1, 5)  # randint's upper bound is exclusive
    assert set(mutations["opt"]) == {"wd"}


def test_plan_says_what_pbt_does(base: dict[str, Any]) -> None:
    plan = build_plan(parse_spec(_pbt(base, mutate=["lr", "opt.wd"])))
    assert (plan.scheduler, plan.exploits, plan.early_stopping, plan.rungs) == ("pbt", True, False, ())
    assert plan.mutations == ("lr", "opt.wd")
    assert plan.perturbation_interval == 2  # max_t // 4 by default
    assert plan.budget_expected == plan.budget_full
    assert type(plan).from_dict(plan.to_dict()) == plan


def test_plan_of_other_schedulers_has_no_pbt_facts(base: dict[str, Any]) -> None:
    plan = build_plan(parse_spec(base))
    assert (plan.exploits, plan.perturbation_interval, plan.mutations) == (False, None, ())


def test_pb2_mutates_continuous_floats_only(base: dict[str, Any]) -> None:
    spec = parse_spec(_pbt(base, perturbation_interval=3) | {"scheduler": {"type": "pb2", "max_t": 8}})
    assert to_pb2_bounds(spec) == {"lr": [1e-4, 1e-1], "momentum": [0.8, 0.99], "opt": {"wd": [0.0, 0.1]}}
    assert build_plan(spec).mutations == ("lr", "momentum", "opt.wd")


def test_resolved_spec_keeps_pbt_knobs_for_pbt_only(base: dict[str, Any]) -> None:
    assert "quantile_fraction" not in parse_spec(base).to_dict()["scheduler"]
    resolved = parse_spec(_pbt(base, quantile_fraction=0.5)).to_dict()
    assert resolved["scheduler"]["quantile_fraction"] == 0.5
    assert parse_spec(resolved).to_dict() == resolved


def test_clip_keeps_perturbed_values_in_bounds(base: dict[str, Any]) -> None:
    clip = ConfigClip(parse_spec(_pbt(base)))
    config = {"lr": 0.5, "momentum": 0.5, "depth": 7, "dropout": 0.25, "opt": {"wd": -1.0}}
    assert clip(config) == {"lr": 0.1, "momentum": 0.8, "depth": 4, "dropout": 0.25, "opt": {"wd": 0.0}}


@pytest.mark.parametrize(
    ("patch", "problem"),
    [
        ({"search": {"algorithm": "grid"}, "params": {"bs": {"type": "choice", "values": [1, 2]}}},
         ("scheduler.type", "pbt cannot run a grid search: it changes configs while trials run; "
                            "use search.algorithm: random")),
        ({"search": {"algorithm": "hyperopt"}},
         ("scheduler.type", "pbt draws the first configs itself and cannot take search.algorithm: hyperopt; "
                            "use search.algorithm: random")),
        ({"params": {"optimizer": PARAMS["optimizer"]}},
         ("params", "pbt needs a searched float, int, pow2 or choice-of-constants param to mutate, got none")),
        ({"scheduler": {"type": "pbt", "mutate": ["lr", "optimizer"]}},
         ("scheduler.mutate[1]", "pbt cannot mutate 'optimizer' (it mutates a searched float, int, pow2 or "
                                 "choice-of-constants param); it can mutate: lr")),
        ({"scheduler": {"type": "pbt", "max_t": 4, "perturbation_interval": 4}},
         ("scheduler.perturbation_interval", "must be < max_t, got perturbation_interval=4, max_t=4; "
                                             "no trial would ever be exploited")),
        ({"scheduler": {"type": "asha", "mutate": ["lr"]}},
         ("scheduler.mutate", "only pbt and pb2 mutate params, got scheduler.type: asha; drop mutate, "
                              "or use type: pbt")),
        ({"scheduler": {"type": "pb2"}, "params": {"bs": {"type": "choice", "values": [1, 2]}}},
         ("params", "pb2 needs a searched float param without step to mutate, got none")),
        ({"scheduler": {"type": "pbt", "quantile_fraction": 0.75}},
         ("scheduler.quantile_fraction", "must be <= 0.5, got 0.75")),
    ],
)
def test_bad_pbt_specs(base: dict[str, Any], patch: dict[str, Any], problem: tuple[str, str]) -> None:
    base["scheduler"] = {"type": "pbt"}
    for key, value in patch.items():
        base[key] = {**base[key], **value} if key == "search" else value
    assert _problems(base) == [problem]
