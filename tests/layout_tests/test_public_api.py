"""``from hpo import ...``: the public API, each name the same object as in the package that defines it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import hpo

HOMES = ("hpo.spaces", "hpo.search", "hpo.results", "hpo.trainables", "hpo.errors")


def test_each_name_of_hpo_is_its_home_packages_own() -> None:
    packages = {home: importlib.import_module(home) for home in HOMES}
    for name in hpo.__all__:
        homes = [home for home, package in packages.items() if name in getattr(package, "__all__", ())]
        assert homes, f"hpo.{name} is in no package's __all__"
        assert all(getattr(hpo, name) is getattr(packages[home], name) for home in homes), name


@pytest.mark.slow(seconds=2)  # a Python subprocess, so that nothing is imported yet
def test_importing_hpo_imports_none_of_its_packages() -> None:
    code = ("import sys, hpo; print(sorted(m for m in sys.modules if m.startswith('hpo.') or m in "
            "('ray', 'torch', 'pydantic', 'sqlalchemy')))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_an_unknown_name_says_so() -> None:
    try:
        hpo.nope  # noqa: B018
    except AttributeError as exc:
        assert str(exc) == "module 'hpo' has no attribute 'nope'"
    else:
        raise AssertionError("hpo.nope resolved")
