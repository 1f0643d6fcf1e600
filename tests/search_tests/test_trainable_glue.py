"""Which modules travel to Ray workers by value, and the caller's function left untouched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import ray.cloudpickle

from search.trainable_glue import _own_copy, ship_module_by_value


def test_a_module_only_on_the_drivers_path_is_shipped_by_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scratchpkg").mkdir()
    (tmp_path / "scratchpkg" / "__init__.py").write_text("")
    (tmp_path / "scratchpkg" / "mod.py").write_text("def train(config):\n    return {**config, 'seen': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from scratchpkg.mod import train

    top = sys.modules["scratchpkg"]
    try:
        assert ship_module_by_value(train) == "scratchpkg"
        payload = ray.cloudpickle.dumps(train)
        # A worker that cannot import scratchpkg still gets the function: it travelled by value.
        for name in ("scratchpkg.mod", "scratchpkg"):
            sys.modules.pop(name, None)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
        assert ray.cloudpickle.loads(payload)({"x": 1}) == {"x": 1, "seen": True}
    finally:
        ray.cloudpickle.unregister_pickle_by_value(top)
        for name in ("scratchpkg.mod", "scratchpkg"):
            sys.modules.pop(name, None)


def test_a_namespace_package_ships_the_module_that_defines_the_trainable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nspkg").mkdir()  # no __init__.py: a namespace package, which has no file of its own
    (tmp_path / "nspkg" / "train.py").write_text("def train(config):\n    return {**config, 'ns': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from nspkg.train import train

    module = sys.modules["nspkg.train"]
    try:
        assert ship_module_by_value(train) == "nspkg.train"
        payload = ray.cloudpickle.dumps(train)
        for name in ("nspkg.train", "nspkg"):
            sys.modules.pop(name, None)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
        assert ray.cloudpickle.loads(payload)({"x": 1}) == {"x": 1, "ns": True}
    finally:
        ray.cloudpickle.unregister_pickle_by_value(module)
        for name in ("nspkg.train", "nspkg"):
            sys.modules.pop(name, None)


def test_installed_and_own_packages_are_left_alone() -> None:
    import trainables

    assert ship_module_by_value(json.dumps) is None
    assert ship_module_by_value(trainables.resolve) is None


def _user_fn(config: dict) -> None:
    return None


def test_with_resources_does_not_touch_the_callers_function() -> None:
    from ray import tune

    tune.with_resources(_own_copy(_user_fn), {"cpu": 1})
    assert not hasattr(_user_fn, "_resources")
    copy = _own_copy(_user_fn)
    assert copy is not _user_fn and copy.__name__ == "_user_fn" and copy({}) is None
