"""Both translations, sampled thousands of times with a fixed seed: bounds, types, spread."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hpo.spaces import constant_config, parse_spec, sample_configs, to_hyperopt_points, to_hyperopt_space, to_tune_space

PARAMS: dict[str, Any] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.8, "high": 0.99},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05},
    "depth": {"type": "int", "low": 2, "high": 6},
    "blocks": {"type": "int", "low": 1, "high": 9, "step": 2},
    "hidden": {"type": "int", "low": 8, "high": 512, "log": True},
    "l1": {"type": "pow2", "low": 4, "high": 256},
    "batch_size": {"type": "choice", "values": [64, 128, 256]},
    "model": {"kind": "cnn", "act": {"type": "choice", "values": ["relu", "gelu"]}},
    "optimizer": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99},
         "nesterov": {"type": "choice", "values": [True, False]}},
        {"name": "adamw", "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}},
    ]},
}


def _spec(algorithm: str, **extra: Any) -> Any:
    params = dict(PARAMS)
    if algorithm == "grid":
        params = {k: v for k, v in params.items() if k not in ("lr", "momentum", "hidden", "optimizer")}
        params["width"] = {"type": "grid", "values": [32, 64]}
    return parse_spec({"name": "t", "trainable": "cifar", "metric": "m", "mode": "min",
                       "search": {"algorithm": algorithm, "num_samples": 2000, "seed": 0, **extra},
                       "params": params, "fixed": {"epochs": 3}})


def _check(config: dict[str, Any]) -> None:
    assert 1e-4 <= config["lr"] <= 1e-1 and type(config["lr"]) is float
    assert 0.8 <= config["momentum"] <= 0.99 and type(config["momentum"]) is float
    assert config["dropout"] in [round(0.05 * k, 2) for k in range(11)] and type(config["dropout"]) is float
    assert config["depth"] in range(2, 7) and type(config["depth"]) is int
    assert config["blocks"] in (1, 3, 5, 7, 9) and type(config["blocks"]) is int
    assert 8 <= config["hidden"] <= 512 and type(config["hidden"]) is int
    assert config["l1"] in (4, 8, 16, 32, 64, 128, 256) and type(config["l1"]) is int
    assert config["batch_size"] in (64, 128, 256)
    assert config["model"]["kind"] == "cnn" and config["model"]["act"] in ("relu", "gelu")
    opt = config["optimizer"]
    if opt["name"] == "sgd":
        assert set(opt) == {"name", "momentum", "nesterov"} and 0.8 <= opt["momentum"] <= 0.99
        assert opt["nesterov"] in (True, False)
    else:
        assert set(opt) == {"name", "weight_decay"} and 1e-6 <= opt["weight_decay"] <= 1e-2
    assert config["epochs"] == 3


@pytest.mark.parametrize("algorithm", ["hyperopt", "random"])
def test_samples_are_in_bounds_with_the_right_types(algorithm: str) -> None:
    configs = sample_configs(_spec(algorithm), 2000)
    assert len(configs) == 2000
    for config in configs:
        _check(config)
    # every value of small discrete params shows up, ends included
    assert {c["depth"] for c in configs} == {2, 3, 4, 5, 6}
    assert {c["blocks"] for c in configs} == {1, 3, 5, 7, 9}
    assert {c["l1"] for c in configs} == {4, 8, 16, 32, 64, 128, 256}
    assert {c["dropout"] for c in configs} == {round(0.05 * k, 2) for k in range(11)}
    assert {c["optimizer"]["name"] for c in configs} == {"sgd", "adamw"}
    # log params spread log-uniformly: half below the geometric middle (uniform would give ~3%)
    below = np.mean([c["lr"] < math.sqrt(1e-4 * 1e-1) for c in configs])
    assert 0.44 < below < 0.56
    # ints at the ends are as likely as in the middle
    counts = np.bincount([c["depth"] for c in configs])[2:]
    assert counts.min() > 0.7 * counts.max()


@pytest.mark.parametrize("algorithm", ["hyperopt", "random"])
def test_same_seed_same_samples(algorithm: str) -> None:
    spec = _spec(algorithm)
    assert sample_configs(spec, 20) == sample_configs(spec, 20)
    assert sample_configs(spec, 20) != sample_configs(spec, 20, seed=1)


def test_grid_expands_to_the_full_product() -> None:
    spec = _spec("grid", num_samples=1)
    configs = sample_configs(spec, 100_000)
    sizes = 11 * 5 * 5 * 7 * 3 * 2 * 2  # dropout, depth, blocks, l1, batch_size, act, width
    assert len(configs) == sizes
    keys = {(c["dropout"], c["depth"], c["blocks"], c["l1"], c["batch_size"], c["model"]["act"], c["width"])
            for c in configs}
    assert len(keys) == sizes


def test_random_repeats_grid_params_num_samples_times() -> None:
    spec = parse_spec({"name": "t", "trainable": "x", "metric": "m", "mode": "min",
                       "search": {"algorithm": "random", "num_samples": 3},
                       "params": {"w": {"type": "grid", "values": [1, 2]},
                                  "lr": {"type": "float", "low": 0, "high": 1}}})
    configs = sample_configs(spec, 100)
    assert [c["w"] for c in configs] == [1, 2, 1, 2, 1, 2]


def test_tune_space_keeps_inclusive_int_bounds_and_fixed() -> None:
    from ray.tune.search.sample import Integer

    space = to_tune_space(_spec("random"))
    assert isinstance(space["depth"], Integer) and (space["depth"].lower, space["depth"].upper) == (2, 7)
    assert space["epochs"] == 3 and space["model"]["kind"] == "cnn"
    grid = to_tune_space(_spec("grid"))
    assert grid["depth"] == {"grid_search": [2, 3, 4, 5, 6]} and grid["width"] == {"grid_search": [32, 64]}


def test_hyperopt_space_labels_and_constants() -> None:
    from hyperopt.pyll import Apply

    spec = _spec("hyperopt")
    space = to_hyperopt_space(spec)
    assert "epochs" not in space and isinstance(space["lr"], Apply)
    assert constant_config(spec) == {"epochs": 3}
    labels = str(space["optimizer"])
    assert "optimizer.values[0].momentum" in labels and "optimizer.values[1].weight_decay" in labels


def test_hyperopt_points_are_flat_labels_with_choice_indices() -> None:
    point = {"lr": 0.01, "momentum": 0.9, "dropout": 0.1, "depth": 3, "blocks": 5, "hidden": 64, "l1": 32,
             "batch_size": 128, "model": {"kind": "cnn", "act": "gelu"},
             "optimizer": {"name": "adamw", "weight_decay": 1e-4}}
    spec = _spec("hyperopt", points_to_evaluate=[point])
    assert to_hyperopt_points(spec) == [{
        "lr": 0.01, "momentum": 0.9, "dropout": 0.1, "depth": 3.0, "blocks": 5.0, "hidden": 64.0, "l1": 3,
        "batch_size": 1, "model.act": 1, "optimizer": 1, "optimizer.values[1].weight_decay": 1e-4}]


def test_hyperopt_points_evaluate_back_to_the_point() -> None:
    """The raw values the searcher is given for a point produce exactly that config."""
    import hyperopt
    from hyperopt.pyll import rec_eval

    point = {"lr": 0.01, "momentum": 0.9, "dropout": 0.15, "depth": 6, "blocks": 9, "hidden": 512, "l1": 4,
             "batch_size": 64, "model": {"kind": "cnn", "act": "relu"},
             "optimizer": {"name": "sgd", "momentum": 0.85, "nesterov": False}}
    spec = _spec("hyperopt", points_to_evaluate=[point])
    space = to_hyperopt_space(spec)
    domain = hyperopt.Domain(lambda c: c, space)
    memo = domain.memo_from_config(to_hyperopt_points(spec)[0])
    assert rec_eval(domain.expr, memo=memo) == point
