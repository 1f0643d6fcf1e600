"""A stored sweep is found again by its spec hash: a new spec form must not change any existing spec's hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo.spaces import load_spec

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

# The hashes of the shipped specs before command trainables (trainable: {command: ...}) came in.
GOLDEN = {
    "cifar10-asha-hyperopt.yaml": "c15558d1845fcfa2",
    "cifar10-grid.yaml": "3ce3666bb95d37e1",
    "cifar10-random.yaml": "85a09b19774a0f24",
    "quickstart.yaml": "34c7054db35cfd68",
    "tutorial.yaml": "49fff83dfdb1efcc",
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_shipped_spec_keeps_its_hash(name: str) -> None:
    spec = load_spec(CONFIGS / name)
    assert isinstance(spec.trainable, str) and spec.to_dict()["trainable"] == spec.trainable
    assert spec.spec_hash() == GOLDEN[name]


def test_every_shipped_spec_is_pinned() -> None:
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(GOLDEN)
