"""Warm-start points (``search.points_to_evaluate``): checking them against the space."""

from __future__ import annotations

import math
from typing import Any

from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param

__all__ = ["match_option", "point_from_config", "point_problems", "value_fits"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _on_step(value: float, low: float, step: float | None) -> bool:
    if step is None:
        return True
    k = (value - low) / step
    return abs(k - round(k)) <= 1e-6 * max(1.0, abs(k))


def match_option(param: ChoiceParam, value: Any) -> int | None:
    """Index of the choice option that ``value`` is (a constant) or fits (a group), else None."""
    for i, option in enumerate(param.values):
        if isinstance(option, dict):
            if isinstance(value, dict) and not _group_problems(value, option, "", need_all=True):
                return i
        elif value == option and type(value) is type(option):
            return i
    for i, option in enumerate(param.values):  # 1 == 1.0 across types, as a last resort
        if not isinstance(option, dict) and value == option:
            return i
    return None


def value_fits(node: Any, value: Any) -> bool:
    """Whether ``value`` is one the node could produce."""
    if isinstance(node, FloatParam):
        return (_number(value) and math.isfinite(value) and node.low <= value <= node.high
                and _on_step(value, node.low, node.step))
    if isinstance(node, IntParam):
        return (isinstance(value, int) and not isinstance(value, bool) and node.low <= value <= node.high
                and _on_step(value, node.low, node.step))
    if isinstance(node, Pow2Param):
        return value in node.values()
    if isinstance(node, GridParam):
        return value in node.values
    if isinstance(node, ChoiceParam):
        return match_option(node, value) is not None
    if isinstance(node, dict):
        return isinstance(value, dict) and not _group_problems(value, node, "", need_all=True)
    return value == node


def _describe(node: Any) -> str:
    if isinstance(node, (FloatParam, IntParam)):
        step = f" step {node.step}" if node.step is not None else ""
        return f"{node.type} {node.low} to {node.high}{step}"
    if isinstance(node, Pow2Param):
        return f"one of {node.values()}"
    if isinstance(node, (ChoiceParam, GridParam)):
        return f"one of its {len(node.values)} values"
    return "a group" if isinstance(node, dict) else f"the constant {node!r}"


def _has_distribution(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_has_distribution(v) for v in node.values())
    return isinstance(node, (FloatParam, IntParam, Pow2Param, ChoiceParam, GridParam))


def _group_problems(
    point: dict[str, Any], space: dict[str, Any], path: str, *, need_all: bool
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, value in point.items():
        if key not in space:
            names = ", ".join(space) or "none"
            problems.append((f"{path}.{key}", f"not a param here; params: {names}"))
        elif isinstance(space[key], dict) and isinstance(value, dict):
            problems += _group_problems(value, space[key], f"{path}.{key}", need_all=need_all)
        elif not value_fits(space[key], value):
            problems.append((f"{path}.{key}", f"{value!r} is not in the param ({_describe(space[key])})"))
    if need_all:
        missing = [k for k, node in space.items() if k not in point and _has_distribution(node)]
        if missing:
            problems.append((path, f"hyperopt needs a value for every searched param, missing: {', '.join(missing)}"))
    return problems


def point_problems(point: Any, space: dict[str, Any], path: str, *, need_all: bool) -> list[tuple[str, str]]:
    """Problems of one warm-start point against the parsed space (empty when it fits)."""
    if not isinstance(point, dict):
        return [(path, f"must be a mapping of param names to values, got {point!r}")]
    return _group_problems(point, space, path, need_all=need_all)


def point_from_config(space: dict[str, Any], config: Any) -> dict[str, Any]:
    """The searched part of a trial's config (e.g. one an earlier sweep ran): the values of ``space``'s
    distributions and groups, without the constants and ``fixed`` keys a config also holds. Keys the
    config lacks are left out; ``point_problems`` then says what is missing or does not fit."""
    point: dict[str, Any] = {}
    if not isinstance(config, dict):
        return point
    for key, node in space.items():
        if key not in config or not _has_distribution(node):
            continue
        if isinstance(node, dict) and isinstance(config[key], dict):
            point[key] = point_from_config(node, config[key])
        else:
            point[key] = config[key]
    return point
