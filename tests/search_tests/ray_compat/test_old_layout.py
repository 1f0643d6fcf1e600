"""Every old module path a sweep written before hpo's one import name can hold still resolves (no Ray started).

The fixture sweeps' ``FIXTURE.json`` list the names Ray pickled into them (``tests/search_tests/old_layout/``);
``test_resume_old_layout.py`` resumes them for real. This is the fast half: when a class moves, this says which
old name to add to ``MOVED_NAMES``.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
import tarfile
from pathlib import Path

import pytest

from hpo.search.ray_compat.old_layout import OLD_MODULES, old_module_paths, resolve_old_name

FIXTURES = Path(__file__).parents[1] / "old_layout"


def _pickled_names() -> list[str]:
    names: set[str] = set()
    for archive in sorted(FIXTURES.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            meta = json.load(tar.extractfile("FIXTURE.json"))  # type: ignore[arg-type]
        for found in meta["old_module_paths"].values():
            names.update(found)
    return sorted(names)


def test_every_new_module_exists() -> None:
    assert [new for new in OLD_MODULES.values() if importlib.util.find_spec(new) is None] == []


@pytest.mark.parametrize("dotted", _pickled_names())
def test_each_pickled_name_resolves(dotted: str) -> None:
    module, _, name = dotted.rpartition(".")
    while module not in OLD_MODULES:  # a nested qualname (Class.method)
        module, _, outer = module.rpartition(".")
        name = f"{outer}.{name}"
    head, *rest = name.split(".")
    obj = resolve_old_name(module, head)
    for part in rest:
        obj = getattr(obj, part)
    assert obj.__module__.startswith("hpo.")


def test_old_names_resolve_only_inside_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # As installed: the checkout's root (which `python -m pytest` puts on sys.path) holds the folders
    # search/, spaces/, ... that a plain import would find there.
    root = Path(__file__).resolve().parents[3]
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != root])
    # the class as an old-layout process pickled it: protocol 0 spells the module path as a text line
    raw = pickle.dumps(resolve_old_name("spaces.params", "FloatParam"), protocol=0)
    raw = raw.replace(b"chpo.spaces.params\n", b"cspaces.params\n")
    assert b"cspaces.params\nFloatParam\n" in raw
    with pytest.raises(ModuleNotFoundError, match="No module named 'spaces'"):
        pickle.loads(raw)
    with old_module_paths():
        assert pickle.loads(raw) is resolve_old_name("spaces.params", "FloatParam")
    assert "spaces" not in sys.modules and "spaces.params" not in sys.modules
    with pytest.raises(ModuleNotFoundError, match="No module named 'spaces'"):
        pickle.loads(raw)


def test_a_missing_name_says_where_to_add_it() -> None:
    with pytest.raises(AttributeError, match=r"^old module path search\.sweep\.nope: not in hpo\.search\.engine\.sweep "
                                             r"\(add it to hpo\.search\.ray_compat\.old_layout\.MOVED_NAMES\)$"):
        resolve_old_name("search.sweep", "nope")
