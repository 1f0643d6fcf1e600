"""Translating a spec's space for the searchers: Ray Tune domains, HyperOpt's native space, and
Optuna's define-by-run space.

Integer bounds are inclusive on our side; Ray's ``randint`` upper bound is exclusive, so it is
converted here. Discrete params (stepped floats and ints, pow2) are exact lists of values, so no
search ever proposes ``0.15000000000000002`` or a value off the step.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from hpo.spaces.models import SweepSpec
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param
from hpo.spaces.points import match_option

__all__ = [
    "OptunaSpace",
    "constant_config",
    "to_hyperopt_point",
    "to_hyperopt_points",
    "to_hyperopt_space",
    "to_optuna_point",
    "to_optuna_points",
    "to_tune_space",
]

_PARAMS = (FloatParam, IntParam, Pow2Param, ChoiceParam, GridParam)


# ---------------------------------------------------------------- Ray Tune (random, grid)
def _tune_node(node: Any, *, grid: bool) -> Any:
    from ray import tune

    if isinstance(node, dict):
        return {k: _tune_node(v, grid=grid) for k, v in node.items()}
    if isinstance(node, GridParam):
        return tune.grid_search(list(node.values))
    if isinstance(node, ChoiceParam):
        options = [_tune_node(v, grid=grid) for v in node.values]
        return tune.grid_search(options) if grid else tune.choice(options)
    if isinstance(node, (Pow2Param,)) or (isinstance(node, (FloatParam, IntParam)) and node.step is not None):
        values = node.values()
        return tune.grid_search(values) if grid else tune.choice(values)
    if isinstance(node, FloatParam):
        return tune.loguniform(node.low, node.high) if node.log else tune.uniform(node.low, node.high)
    if isinstance(node, IntParam):
        if grid:
            return tune.grid_search(node.values())
        # Ray's randint excludes its upper bound; ours is inclusive.
        return tune.lograndint(node.low, node.high + 1) if node.log else tune.randint(node.low, node.high + 1)
    return node


def to_tune_space(spec: SweepSpec) -> dict[str, Any]:
    """The Ray Tune ``param_space`` for the random and grid algorithms, ``fixed`` constants included.

    ``random``: floats and ints sample uniformly (log-uniformly with ``log``), discrete params are
    ``tune.choice``, ``grid`` params are ``tune.grid_search`` (repeated ``num_samples`` times).
    ``grid``: every param is enumerated with ``tune.grid_search``.
    """
    grid = spec.search.algorithm == "grid"
    return {**_tune_node(spec.params, grid=grid), **spec.fixed}


# ---------------------------------------------------------------- HyperOpt (TPE)
def _label(path: str) -> str:
    return path


def _snap(raw: Any, low: float, step: float, n: int, *, as_int: bool) -> Any:
    """Pyll expression: the raw sample snapped to ``low + k*step`` (k in 0..n-1), exactly."""
    from hyperopt.pyll import scope

    k = scope.int(scope.minimum(scope.maximum(scope.int((raw - low) / step + 0.5), 0), n - 1))
    if as_int:
        return scope.int(low + k * step)
    # Scaled integers, divided once: 0.05 * 3 comes out as 0.15, not 0.15000000000000002.
    scale = 10 ** max(0, -math.floor(math.log10(step)) + 6)
    return scope.float(scope.truediv(round(low * scale) + round(step * scale) * k, scale))


def _hp_node(node: Any, path: str) -> Any:
    from hyperopt import hp
    from hyperopt.pyll import scope

    if isinstance(node, dict):
        return {k: _hp_node(v, f"{path}.{k}" if path else k) for k, v in node.items()}
    if isinstance(node, ChoiceParam):
        options = [_hp_node(v, f"{path}.values[{i}]") if isinstance(v, dict) else v for i, v in enumerate(node.values)]
        return hp.choice(_label(path), options)
    if isinstance(node, Pow2Param):
        return hp.choice(_label(path), node.values())
    if isinstance(node, FloatParam):
        if node.log:
            return scope.float(hp.loguniform(_label(path), math.log(node.low), math.log(node.high)))
        if node.step is None:
            return scope.float(hp.uniform(_label(path), node.low, node.high))
        n = len(node.values())
        raw = hp.uniform(_label(path), node.low - node.step / 2, node.high + node.step / 2)
        return _snap(raw, node.low, node.step, n, as_int=False)
    if isinstance(node, IntParam):
        step = node.step or 1
        n = len(node.values())
        # Each integer owns an interval of width `step`, so the ends are as likely as the middle.
        if node.log:
            raw = hp.loguniform(_label(path), math.log(node.low - 0.5), math.log(node.high + 0.5))
        else:
            raw = hp.uniform(_label(path), node.low - step / 2, node.high + step / 2)
        return _snap(raw, node.low, step, n, as_int=True)
    if isinstance(node, GridParam):
        raise ValueError(f"params.{path}: hyperopt cannot sample grid params")
    return node


def to_hyperopt_space(spec: SweepSpec) -> dict[str, Any]:
    """HyperOpt's native space (``hp.*``) of the searched params, for ``HyperOptSearch(space=...)``.

    Conditional groups become nested ``hp.choice``; the sampled config has the same shape as the
    spec (a chosen group comes out as a dict). Labels are the params' dotted paths, with
    ``values[i]`` for params inside the i-th option of a choice. Constants (``fixed``) are not in
    it: pass ``constant_config(spec)`` as the Tuner's ``param_space``.
    """
    return {k: _hp_node(v, k) for k, v in spec.params.items() if _searched(v)}


def _searched(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_searched(v) for v in node.values())
    return isinstance(node, _PARAMS)


def constant_config(spec: SweepSpec) -> dict[str, Any]:
    """What every trial's config holds besides the searched values: ``fixed`` and constant params."""
    consts = {k: v for k, v in spec.params.items() if not _searched(v)}
    return {**consts, **spec.fixed}


def _flatten_point(value: Any, node: Any, path: str, out: dict[str, Any], *, raw: bool = False) -> None:
    if isinstance(node, dict):
        for key, sub in node.items():
            if key in value:
                _flatten_point(value[key], sub, f"{path}.{key}" if path else key, out, raw=raw)
    elif isinstance(node, ChoiceParam):
        index = match_option(node, value)
        if index is None:
            raise ValueError(f"{path}: {value!r} is not one of the choice's values")
        out[_label(path)] = index
        if isinstance(node.values[index], dict):
            _flatten_point(value, node.values[index], f"{path}.values[{index}]", out, raw=raw)
    elif isinstance(node, Pow2Param):
        out[_label(path)] = node.values().index(value)
    elif isinstance(node, (FloatParam, IntParam)):
        out[_label(path)] = value if raw else float(value)


def to_hyperopt_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """``search.points_to_evaluate`` in HyperOpt's own form: ``{label: raw value}``, choices as indices.

    Ray's ``HyperOptSearch`` converts points itself, but only for top-level choices of constants;
    for conditional groups the searcher must take these as they are (skip Ray's conversion).
    """
    return [to_hyperopt_point(spec, point) for point in spec.search.points_to_evaluate]


def to_hyperopt_point(spec: SweepSpec, point: dict[str, Any]) -> dict[str, Any]:
    """One point (a config's searched values, checked against the space) in HyperOpt's own form."""
    flat: dict[str, Any] = {}
    _flatten_point(point, {k: v for k, v in spec.params.items() if _searched(v)}, "", flat)
    return flat


# ---------------------------------------------------------------- Optuna (define-by-run)
def _optuna_node(trial: Any, node: Any, path: str) -> Any:
    if isinstance(node, dict):
        return {k: _optuna_node(trial, v, f"{path}.{k}" if path else k) for k, v in node.items()}
    if isinstance(node, ChoiceParam):
        # Indices, not the values: options may be groups, lists or mixed types, which Optuna's
        # categorical distribution cannot hold. A group's params are only asked for when it is chosen.
        # Increasing numbers (batch sizes, log-spaced rates) are an ordered axis: TPE then learns
        # that 128 lies between 64 and 256, which a categorical cannot tell it.
        if ordered_choice(node):
            index = trial.suggest_int(_label(path), 0, len(node.values) - 1)
        else:
            index = trial.suggest_categorical(_label(path), list(range(len(node.values))))
        option = node.values[index]
        return _optuna_node(trial, option, f"{path}.values[{index}]") if isinstance(option, dict) else option
    if isinstance(node, Pow2Param):
        values = node.values()  # the exponent as an ordered int: TPE sees 32 between 16 and 64
        return values[trial.suggest_int(_label(path), 0, len(values) - 1)]
    if isinstance(node, FloatParam):
        if node.step is None:
            return trial.suggest_float(_label(path), node.low, node.high, log=node.log)
        raw = trial.suggest_float(_label(path), node.low, node.high, step=node.step)
        values = node.values()  # snapped to the exact list: 0.15, not 0.15000000000000002
        return values[min(len(values) - 1, max(0, round((raw - node.low) / node.step)))]
    if isinstance(node, IntParam):
        return trial.suggest_int(_label(path), node.low, node.high, step=node.step or 1, log=node.log)
    if isinstance(node, GridParam):
        raise ValueError(f"params.{path}: optuna cannot sample grid params")
    return node


def ordered_choice(node: ChoiceParam) -> bool:
    """A choice of at least three strictly increasing numbers: searched by Optuna as an ordered axis."""
    values = node.values
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return numbers and len(values) >= 3 and all(a < b for a, b in pairwise(values))


class OptunaSpace:
    """Optuna's define-by-run space of a spec's searched params: ``space(trial)`` is the config.

    Names are the params' dotted paths (``values[i]`` inside the i-th option of a choice), as for
    HyperOpt; choices are asked as option indices (an ordered int for increasing numbers, see
    :func:`ordered_choice`), ``pow2`` as the exponent's index. Only the
    chosen group's params are asked for, so TPE models each group on the trials that chose it.
    Constants (``fixed``) are not in it: pass ``constant_config(spec)`` as the Tuner's
    ``param_space``. A plain class, not a closure, so a searcher holding it pickles.
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.params = {k: v for k, v in spec.params.items() if _searched(v)}

    def __call__(self, trial: Any) -> dict[str, Any]:
        return {k: _optuna_node(trial, v, k) for k, v in self.params.items()}


def to_optuna_point(spec: SweepSpec, point: dict[str, Any]) -> dict[str, Any]:
    """One point (a config's searched values) as the names and values ``OptunaSpace`` asks for."""
    flat: dict[str, Any] = {}
    _flatten_point(point, {k: v for k, v in spec.params.items() if _searched(v)}, "", flat, raw=True)
    return flat


def to_optuna_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """``search.points_to_evaluate`` as Optuna's ``enqueue_trial`` takes them: ``{name: value}``.

    Choices and ``pow2`` are given as the indices ``OptunaSpace`` asks for; a param a point leaves
    out is sampled.
    """
    searched = {k: v for k, v in spec.params.items() if _searched(v)}
    points = []
    for point in spec.search.points_to_evaluate:
        flat: dict[str, Any] = {}
        _flatten_point(point, searched, "", flat, raw=True)
        points.append(flat)
    return points
