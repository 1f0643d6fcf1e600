from __future__ import annotations

from typing import Any

import pytest

from hpo.spaces import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param, SpecError, parse_spec


def _problems(base: dict[str, Any], params: dict[str, Any]) -> list[tuple[str, str]]:
    base["params"] = params
    with pytest.raises(SpecError) as info:
        parse_spec(base, source="s.yaml")
    return info.value.problems


def test_every_param_type_parses(base: dict[str, Any]) -> None:
    base["params"] = {
        "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05},
        "depth": {"type": "int", "low": 2, "high": 6},
        "l1": {"type": "pow2", "low": 4, "high": 256},
        "bs": {"type": "choice", "values": [64, 128]},
        "width": {"type": "grid", "values": [32, 64]},
        "model": {"kind": "resnet", "blocks": {"type": "int", "low": 1, "high": 3}},
        "const": 7,
    }
    spec = parse_spec(base)
    p = spec.params
    assert isinstance(p["lr"], FloatParam) and p["lr"].log
    assert p["dropout"].values()[:4] == [0.0, 0.05, 0.1, 0.15] and p["dropout"].values()[-1] == 0.5
    assert isinstance(p["depth"], IntParam) and p["depth"].values() == [2, 3, 4, 5, 6]
    assert isinstance(p["l1"], Pow2Param) and p["l1"].values() == [4, 8, 16, 32, 64, 128, 256]
    assert isinstance(p["bs"], ChoiceParam) and isinstance(p["width"], GridParam)
    assert isinstance(p["model"]["blocks"], IntParam) and p["model"]["kind"] == "resnet"
    assert p["const"] == 7


def test_conditional_choice_of_groups(base: dict[str, Any]) -> None:
    base["params"] = {"optimizer": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.99}},
        {"name": "adamw", "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}},
    ]}}
    spec = parse_spec(base)
    sgd, adamw = spec.params["optimizer"].values
    assert sgd["name"] == "sgd" and isinstance(sgd["momentum"], FloatParam)
    assert isinstance(adamw["weight_decay"], FloatParam) and adamw["weight_decay"].log


@pytest.mark.parametrize(
    ("param", "problem"),
    [
        ({"type": "float", "low": 0.0, "high": 0.1, "log": True}, ("params.x", "log: true needs low > 0, got low=0.0")),
        ({"type": "float", "low": 0.5, "high": 0.1},
         ("params.x", "low < high must hold, got low=0.5, high=0.1; for a constant, write the value")),
        ({"type": "int", "low": 3, "high": 3},
         ("params.x", "low < high must hold, got low=3, high=3; for a constant, write the value")),
        ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.3},
         ("params.x", "step must divide high - low, got low=0.0, high=1.0, step=0.3")),
        ({"type": "int", "low": 0, "high": 10, "step": 0},
         ("params.x", "step must be > 0, got step=0")),
        # Found by test_property's mutated specs: each of these raised OverflowError or ValueError.
        ({"type": "float", "low": 0.0, "high": float("inf")},
         ("params.x", "low, high must be finite numbers (within ±1.8e308), got low=0.0, high=inf")),
        ({"type": "float", "low": 0.0, "high": 1.0, "step": float("nan")},
         ("params.x", "low, high, step must be finite numbers (within ±1.8e308), got low=0.0, high=1.0, step=nan")),
        ({"type": "int", "low": 0, "high": 10**400, "step": 1},
         ("params.x", f"low, high, step must be finite numbers (within ±1.8e308), got low=0, high={10**400}, step=1")),
        ({"type": "float", "low": -1.7e308, "high": 1.7e308},
         ("params.x", "high - low must be a finite number, got low=-1.7e+308, high=1.7e+308")),
        ({"type": "float", "low": 0.0, "high": 8.98846567431158e306, "step": 1e-5},
         ("params.x", "step is too small for the range: (high - low) / step overflows, got low=0.0, "
                      "high=8.98846567431158e+306, step=1e-05")),
        ({"type": "int", "low": 1, "high": 100, "log": True, "step": 3},
         ("params.x", "log: true cannot be combined with step, got step=3; drop one of them")),
        ({"type": "pow2", "low": 5, "high": 7}, ("params.x", "no power of two lies between low=5 and high=7")),
        ({"type": "pow2", "low": 0, "high": 8}, ("params.x", "low must be >= 1, got low=0")),
        ({"type": "choice", "values": []}, ("params.x.values", "must be a non-empty list, got []")),
        ({"type": "choice"}, ("params.x.values", "required: the list of values to choose from")),
        ({"type": "choice", "values": [1, 2, 1]}, ("params.x.values[2]", "values must be distinct, got 1 twice")),
        ({"type": "grid", "values": [{"a": 1}]},
         ("params.x.values[0]", "grid values must be constants; for groups use type: choice")),
        ({"type": "int", "low": 1.5, "high": 4}, ("params.x.low", "must be a whole number, got 1.5")),
        ({"type": "float", "low": "small", "high": 4}, ("params.x.low", "must be a number, got 'small'")),
        ({"type": "float", "high": 4}, ("params.x.low", "required")),
        ({"type": "float", "low": 0, "high": 1, "hgh": 2},
         ("params.x.hgh", "unknown key for type float (did you mean 'high'?); allowed: low, high, log, step")),
        ({"type": "loguniform", "low": 0, "high": 1},
         ("params.x.type", "unknown param type 'loguniform'; allowed: float, int, pow2, choice, grid")),
        ({"type": "flaot", "low": 0, "high": 1},
         ("params.x.type",
          "unknown param type 'flaot' (did you mean 'float'?); allowed: float, int, pow2, choice, grid")),
    ],
)
def test_param_rules_have_exact_messages(base: dict[str, Any], param: dict[str, Any], problem: tuple[str, str]) -> None:
    assert _problems(base, {"x": param}) == [problem]


def test_problems_inside_conditional_groups_have_full_paths(base: dict[str, Any]) -> None:
    problems = _problems(base, {"opt": {"type": "choice", "values": [
        {"name": "sgd", "momentum": {"type": "float", "low": 1.0, "high": 0.5}},
    ]}})
    assert problems == [("params.opt.values[0].momentum",
                         "low < high must hold, got low=1.0, high=0.5; for a constant, write the value")]


def test_param_names_cannot_hold_dots(base: dict[str, Any]) -> None:
    message = "param names cannot contain '.' (dots separate nested groups)"
    assert _problems(base, {"a.b": 1}) == [("params.a.b", message)]
