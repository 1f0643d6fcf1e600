"""What PBT and PB2 may change in a running trial, derived from ``params``.

PBT perturbs a float or int by a factor (or resamples it), and shifts a discrete value
(a stepped number, a pow2, a choice of constants) to a neighbour in its list; PB2 fits a GP
over the bounds of continuous floats. A choice of groups (a conditional space) is sampled
once and never mutated: its branches do not share keys. ``clip`` keeps perturbed values
inside the bounds the spec declared (Ray's PBT multiplies without clipping).
"""

from __future__ import annotations

from typing import Any

from hpo.spaces.models import SweepSpec
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param

__all__ = ["ConfigClip", "mutable_paths", "to_pb2_bounds", "to_pbt_mutations"]


def _walk(space: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, node in space.items():
        name = f"{prefix}{key}"
        if isinstance(node, dict):
            found += _walk(node, f"{name}.")
        elif isinstance(node, (FloatParam, IntParam, Pow2Param, GridParam)) or (
                isinstance(node, ChoiceParam) and not any(isinstance(v, dict) for v in node.values)):
            found.append((name, node))
    return found


def _mutable(node: Any, scheduler: str) -> bool:
    if scheduler == "pb2":  # PB2's GP works on continuous bounds only
        return isinstance(node, FloatParam) and node.step is None
    return True


def mutable_paths(params: dict[str, Any], *, scheduler: str) -> list[str]:
    """Dotted names of the params ``scheduler`` (``pbt`` or ``pb2``) can mutate, in spec order."""
    return [name for name, node in _walk(params) if _mutable(node, scheduler)]


def _selected(spec: SweepSpec) -> list[tuple[str, Any]]:
    chosen = spec.scheduler.mutate
    return [(name, node) for name, node in _walk(spec.params)
            if _mutable(node, spec.scheduler.type) and (chosen is None or name in chosen)]


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split(".")
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return out


def _pbt_domain(node: Any) -> Any:
    from ray import tune

    if isinstance(node, (ChoiceParam, GridParam)):
        return list(node.values)
    if isinstance(node, Pow2Param) or node.step is not None:
        return node.values()  # a neighbour in the list, never a value off the step
    if isinstance(node, FloatParam):
        return tune.loguniform(node.low, node.high) if node.log else tune.uniform(node.low, node.high)
    # Ray's randint excludes its upper bound; ours is inclusive.
    return tune.lograndint(node.low, node.high + 1) if node.log else tune.randint(node.low, node.high + 1)


def to_pbt_mutations(spec: SweepSpec) -> dict[str, Any]:
    """PBT's ``hyperparam_mutations``: Tune domains for numbers, value lists for discrete params (nested)."""
    return _nest({name: _pbt_domain(node) for name, node in _selected(spec)})


def to_pb2_bounds(spec: SweepSpec) -> dict[str, list[float]]:
    """PB2's ``hyperparam_bounds``: ``[low, high]`` of each mutated float (flat dotted names are nested)."""
    return _nest({name: [float(node.low), float(node.high)] for name, node in _selected(spec)})


class ConfigClip:
    """PBT's ``custom_explore_fn``: perturbed numbers clipped back into the spec's bounds.

    Picklable (Ray keeps the scheduler in its experiment state): it holds plain bounds only.
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.bounds: dict[str, tuple[float, float, bool]] = {
            name: (float(node.low), float(node.high), isinstance(node, IntParam))
            for name, node in _selected(spec) if isinstance(node, (FloatParam, IntParam)) and node.step is None}

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for name, (low, high, whole) in self.bounds.items():
            *parents, leaf = name.split(".")
            here = config
            for part in parents:
                here = here.get(part, {}) if isinstance(here, dict) else {}
            if isinstance(here, dict) and isinstance(here.get(leaf), (int, float)):
                value = min(max(here[leaf], low), high)
                here[leaf] = round(value) if whole else float(value)
        return config
