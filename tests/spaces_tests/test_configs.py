"""Every shipped config validates, and previews without Ray."""

from __future__ import annotations

import pytest

from hpo.spaces import builtin_names, dry_run_report, load_spec

NAMES = builtin_names()


def test_the_documented_configs_are_shipped() -> None:
    assert set(NAMES) >= {"quickstart", "tutorial", "cifar10-asha-hyperopt", "cifar10-grid", "cifar10-random"}


@pytest.mark.parametrize("name", NAMES)
def test_shipped_config_validates_and_previews(name: str) -> None:
    spec = load_spec(name)
    assert spec.name == name and spec.trainable == "cifar"
    assert f"Sweep {name}" in dry_run_report(spec, samples=2)


def test_tutorial_is_the_ray_tutorial_search() -> None:
    spec = load_spec("tutorial")
    assert spec.params["l1"].values() == [2**k for k in range(2, 9)]
    assert (spec.params["lr"].low, spec.params["lr"].high, spec.params["lr"].log) == (1e-4, 1e-1, True)
    assert spec.params["batch_size"].values == [2, 4, 8, 16]
    sched = spec.scheduler
    assert (sched.type, sched.max_t, sched.grace_period, sched.reduction_factor) == ("asha", 10, 1, 2)
