"""Helpers for spec tests: a minimal valid spec to mutate."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE: dict[str, Any] = {
    "name": "t",
    "trainable": "cifar",
    "metric": "val_loss",
    "mode": "min",
    "search": {"algorithm": "random", "num_samples": 4, "seed": 0},
    "params": {"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}},
}


@pytest.fixture
def base() -> dict[str, Any]:
    """A fresh copy of a small valid spec mapping."""
    return copy.deepcopy(BASE)
