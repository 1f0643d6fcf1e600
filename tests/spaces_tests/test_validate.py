from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo.spaces import SpecError, load_spec, parse_spec

BAD = """\
name: bad
trainable: cifar
metric: val_loss
mode: min
search: {algorithm: hyperopt, num_sample: 3}
scheduler: {type: asha, max_t: 5, grace_period: 10, reduction_factor: 1}
params:
  lr: {type: float, low: 0.0, high: 0.1, log: true}
  width: {type: grid, values: [32, 64]}
fixed: {lr: 0.1}
"""


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"""{path}: 6 problems
  search.num_sample: unknown key (did you mean 'num_samples'?); allowed: algorithm, sampler, num_samples, \
max_concurrent, seed, points_to_evaluate, warm_start
  scheduler.reduction_factor: must be >= 2, got 1
  params.lr: log: true needs low > 0, got low=0.0
  search.algorithm: hyperopt cannot sample grid params (params.width); use type: choice, or algorithm: random
  scheduler.grace_period: must be <= max_t, got grace_period=10, max_t=5
  fixed.lr: also a searched param (params.lr); keep one of them"""


def _problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value.problems


def test_required_fields_say_what_to_write() -> None:
    assert _problems({"params": {"lr": {"type": "float", "low": 0.1, "high": 1.0}}}) == [
        ("name", "required: the sweep's name, its key in the results store (e.g. name: cifar10-asha)"),
        ("trainable", 'required: a registry name such as cifar, an import path "package.module:function", '
                      "or a mapping with command: (a script to run)"),
        ("metric", "required: the reported value to optimise (e.g. metric: val_loss), "
                   "or several objectives in metrics: [{name: ..., mode: ...}, ...]"),
        ("mode", "required: min or max"),
    ]


@pytest.mark.parametrize("top", [None, [1, 2], "text"])
def test_top_level_must_be_a_mapping(top: Any) -> None:
    kind = "empty" if top is None else f"a {type(top).__name__}"
    with pytest.raises(SpecError) as info:
        parse_spec(top, source="f.yaml")
    assert str(info.value) == f"f.yaml: the top level must be a mapping (name, trainable, metric, ...), got {kind}"


@pytest.mark.parametrize(
    ("patch", "problem"),
    [
        ({"mode": "maximize"}, ("mode", "must be one of 'min', 'max', got 'maximize'")),
        ({"name": "my sweep"}, ("name", "has characters that are not allowed, got 'my sweep'")),
        ({"trainable": "pkg.mod:"}, ("trainable", 'must be a registry name or "package.module:function", '
                                                  "got 'pkg.mod:'")),
        ({"budget": 9}, ("budget", "unknown key; allowed: name, trainable, metric, mode, metrics, search, scheduler, "
                                   "resources, stop, failures, params, fixed, cluster, tracking, storage, confirm")),
        ({"serach": {}}, ("serach", "unknown key (did you mean 'search'?); allowed: name, trainable, metric, mode, "
                                    "metrics, search, scheduler, resources, stop, failures, params, fixed, cluster, "
                                    "tracking, storage, confirm")),
        ({"search": {"algorithm": "tpe"}},
         ("search.algorithm", "must be one of 'optuna', 'hyperopt', 'random', 'grid', got 'tpe'")),
        ({"search": {"num_samples": 0}}, ("search.num_samples", "must be >= 1, got 0")),
        ({"search": 5}, ("search", "must be a mapping, got 5")),
        ({"resources": {"gpu": -1}}, ("resources.gpu", "must be >= 0, got -1")),
        ({"resources": {"cpu": 0}}, ("resources.cpu", "must be > 0, got 0")),
        ({"failures": {"on_oom": "retry"}}, ("failures.on_oom", "must be one of 'fail', 'halve_batch', got 'retry'")),
        ({"scheduler": {"type": "bohb"}}, ("scheduler.type", "must be one of 'asha', 'hyperband', 'median', 'fifo', "
                                                             "'pbt', 'pb2', got 'bohb'")),
        ({"stop": {"training_iteration": "ten"}}, ("stop.training_iteration", "must be a number, got 'ten'")),
        ({"stop": 10}, ("stop", "must be a mapping, got 10")),
        ({"cluster": {"address": "localhost"}},
         ("cluster.address", 'must be null, "auto", "ray://host:port" or "host:port", got \'localhost\'')),
        ({"cluster": {"num_cpus": 2}, "resources": {"cpu": 4}},
         ("resources.cpu", "a trial asks for 4 but cluster.num_cpus is 2; no trial could ever start")),
    ],
)
def test_section_rules(base: dict[str, Any], patch: dict[str, Any], problem: tuple[str, str]) -> None:
    base.update(patch)
    assert _problems(base) == [problem]


def test_grid_algorithm_needs_discrete_params(base: dict[str, Any]) -> None:
    base["search"]["algorithm"] = "grid"
    base["params"]["m"] = {"type": "float", "low": 0.1, "high": 0.9}
    base["params"]["bs"] = {"type": "choice", "values": [1, 2]}
    assert _problems(base) == [("search.algorithm", "grid needs every param discrete, got continuous params.lr, "
                                "params.m (float without step); give each a step, "
                                "or use algorithm: random or hyperopt")]


def test_hyperopt_needs_a_searched_param(base: dict[str, Any]) -> None:
    base["search"]["algorithm"] = "hyperopt"
    base["params"] = {"c": 3}
    message = "hyperopt needs at least one searched param; add one, or use algorithm: grid"
    assert _problems(base) == [("params", message)]


def test_points_to_evaluate_are_checked(base: dict[str, Any]) -> None:
    base["search"] = {"algorithm": "hyperopt", "points_to_evaluate": [
        {"lr": 0.01, "bs": 64}, {"lr": 5.0, "bs": 64}, {"lrr": 0.01, "bs": 64}, {"lr": 0.01}, "x"]}
    base["params"]["bs"] = {"type": "choice", "values": [64, 128]}
    assert _problems(base) == [
        ("search.points_to_evaluate[1].lr", "5.0 is not in the param (float 0.0001 to 0.1)"),
        ("search.points_to_evaluate[2].lrr", "not a param here; params: lr, bs"),
        ("search.points_to_evaluate[2]", "hyperopt needs a value for every searched param, missing: lr"),
        ("search.points_to_evaluate[3]", "hyperopt needs a value for every searched param, missing: bs"),
        ("search.points_to_evaluate[4]", "must be a mapping of param names to values, got 'x'"),
    ]


def test_spec_round_trips_through_its_yaml(base: dict[str, Any]) -> None:
    from hpo.spaces.yaml_io import parse_yaml

    base["params"]["opt"] = {"type": "choice", "values": [{"name": "sgd", "m": {"type": "float", "low": 0.8,
                                                                                 "high": 0.9}}, {"name": "adamw"}]}
    spec = parse_spec(base)
    again = parse_spec(parse_yaml(spec.to_yaml(), source="store"))
    assert again == spec and again.spec_hash() == spec.spec_hash()
    base["search"]["num_samples"] = 5
    assert parse_spec(base).spec_hash() != spec.spec_hash()


def test_spec_is_frozen(base: dict[str, Any]) -> None:
    from pydantic import ValidationError

    spec = parse_spec(base)
    with pytest.raises(ValidationError):
        spec.search.num_samples = 3  # type: ignore[misc]


def test_defaults_fill_in(base: dict[str, Any]) -> None:
    del base["search"]
    spec = parse_spec(base)
    assert spec.search.algorithm == "optuna" and spec.search.sampler is None and spec.scheduler.type == "asha"
    assert spec.resources.cpu == 1 and spec.resources.gpu == 0 and spec.cluster.address is None


def test_warm_start_needs_a_searcher_that_can_use_it(base: dict[str, Any]) -> None:
    base["search"] = {"algorithm": "grid", "warm_start": {"sweep": "earlier", "top_k": 5}}
    base["params"] = {"bs": {"type": "choice", "values": [1, 2]}}
    assert _problems(base) == [("search.warm_start", "grid runs every combination whatever ran before; "
                                "warm start needs algorithm: optuna, hyperopt or random")]
    base["search"] = {"algorithm": "random", "warm_start": {"sweep": "earlier", "top_k": 0}}
    assert _problems(base) == [("search.warm_start.top_k", "must be >= 1, got 0")]


def test_point_from_config_keeps_the_searched_values_only() -> None:
    from hpo.spaces.points import point_from_config

    spec = parse_spec({"name": "t", "trainable": "cifar", "metric": "val_loss", "mode": "min", "params": {
        "lr": {"type": "float", "low": 0.001, "high": 0.1}, "block": {"width": {"type": "int", "low": 1, "high": 4},
                                                                     "kind": "conv"}}, "fixed": {"epochs": 2}})
    config = {"lr": 0.01, "block": {"width": 3, "kind": "conv"}, "epochs": 2}
    assert point_from_config(spec.params, config) == {"lr": 0.01, "block": {"width": 3}}
