"""Random and mutated specs: the loader returns a spec or raises SpecError, never anything else."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo.spaces import SpecError, load_spec, parse_spec

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["float", "int", "pow2", "choice", "grid", "hyperopt",
                                                          "grid", "asha", "min", "max", "fifo"]))
KEYS = st.sampled_from(["type", "low", "high", "log", "step", "values", "name", "trainable", "metric", "mode",
                        "search", "scheduler", "params", "fixed", "algorithm", "num_samples", "max_t", "lr",
                        "grace_period", "points_to_evaluate", "resources", "gpu", "cluster", "address", "x"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=5)), max_leaves=20)
BASES = [load_spec(name).to_dict() for name in ("quickstart", "cifar10-asha-hyperopt", "cifar10-grid")]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _only_spec_errors(data: Any) -> None:
    try:
        parse_spec(data)
    except SpecError as exc:
        assert exc.problems and all(isinstance(m, str) and m for _, m in exc.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_random_documents(data: Any) -> None:
    _only_spec_errors(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BASES))), st.data())
def test_mutated_real_specs(which: int, draw: st.DataObject) -> None:
    data = copy.deepcopy(BASES[which])
    for _ in range(draw.draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw.draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if draw.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw.draw(VALUES)
    _only_spec_errors(data)
