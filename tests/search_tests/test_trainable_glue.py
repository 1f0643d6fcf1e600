"""Which modules travel to Ray workers by value, and the caller's function left untouched."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import ray.cloudpickle

from hpo.search.engine.trainable_glue import own_copy, ship_module_by_value


@pytest.mark.parametrize(("package", "init", "shipped"), [
    ("scratchpkg", True, "scratchpkg"),  # a package: its top level travels whole
    ("nspkg", False, "nspkg.mod"),  # no __init__.py: a namespace package has no file, so the module travels
])
def test_a_module_only_on_the_drivers_path_is_shipped_by_value(
        package: str, init: bool, shipped: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / package).mkdir()
    if init:
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "mod.py").write_text("def train(config):\n    return {**config, 'seen': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    train = importlib.import_module(f"{package}.mod").train
    names = (f"{package}.mod", package)
    registered = sys.modules[shipped]
    try:
        assert ship_module_by_value(train) == shipped
        payload = ray.cloudpickle.dumps(train)
        # A worker that cannot import the package still gets the function: it travelled by value.
        for name in names:
            sys.modules.pop(name, None)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
        assert ray.cloudpickle.loads(payload)({"x": 1}) == {"x": 1, "seen": True}
    finally:
        ray.cloudpickle.unregister_pickle_by_value(registered)
        for name in names:
            sys.modules.pop(name, None)


def test_installed_and_own_packages_are_left_alone() -> None:
    from hpo import trainables

    assert ship_module_by_value(json.dumps) is None
    assert ship_module_by_value(trainables.resolve) is None


def _user_fn(config: dict) -> None:
    return None


def test_with_resources_does_not_touch_the_callers_function() -> None:
    from ray import tune

    tune.with_resources(own_copy(_user_fn), {"cpu": 1})
    assert not hasattr(_user_fn, "_resources")
    copy = own_copy(_user_fn)
    assert copy is not _user_fn and copy.__name__ == "_user_fn" and copy({}) is None
