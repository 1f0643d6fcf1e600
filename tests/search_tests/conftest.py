"""Helpers for the engine's tests: specs built from small dicts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # `toy` must resolve as "toy:fn" in this (driver) process
    sys.path.insert(0, str(HERE))

BASE: dict[str, Any] = {
    "name": "toy",
    "trainable": "toy:quadratic",
    "metric": "loss",
    "mode": "min",
    "search": {"algorithm": "random", "num_samples": 8, "seed": 0},
    "scheduler": {"type": "asha", "max_t": 8, "grace_period": 1, "reduction_factor": 2},
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
    "fixed": {"max_iter": 8},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("params",):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture
def make_spec() -> Any:
    """``make_spec(**sections)``: the toy spec with sections deep-merged (``params`` replaced)."""
    from hpo.spaces import parse_spec

    def build(**over: Any) -> Any:
        return parse_spec(_merge(BASE, over), source="test")

    return build
