"""Every private Ray/Optuna name hpo touches is still where hpo reaches for it (imports only, no Ray started).

``hpo.search.ray_compat.PRIVATE_NAMES`` is the one list: a new Ray or Optuna that moved one fails here
with one line naming each name that moved, so ``make test-latest`` says what the release broke.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from hpo.search.ray_compat import CHECKED_ON, PRIVATE_NAMES, PrivateName, missing_private_names

COMPAT = Path(__file__).resolve().parents[3] / "search" / "ray_compat"


def test_every_private_name_hpo_uses_is_still_there() -> None:
    missing = missing_private_names()
    if missing:
        pytest.fail("Ray/Optuna private names hpo uses are gone: " + ", ".join(missing), pytrace=False)


def test_a_name_that_moved_is_named_by_its_dotted_path() -> None:
    moved = (
        PrivateName("ray.tune.schedulers.pbt:PopulationBasedTraining._exploit_v2", "attribute", "m", "w"),
        PrivateName("ray.tune.schedulers.pbt:PopulationBasedTraining._trial_states", "instance attribute", "m", "w"),
        PrivateName("ray.tune.execution.tune_controller:TuneController.save_to_dir", "key", "m", "w", key="trials"),
        PrivateName("ray._private.no_such_module", "module", "m", "w"),
        PrivateName("ray.tune.no_such_module:Thing", "attribute", "m", "w"),
    )
    kept = PrivateName("ray.tune.schedulers.pbt:PopulationBasedTraining._trial_state", "instance attribute", "m", "w")
    assert missing_private_names((*moved, kept)) == [
        "ray.tune.schedulers.pbt.PopulationBasedTraining._exploit_v2",
        "ray.tune.schedulers.pbt.PopulationBasedTraining._trial_states",
        "ray.tune.execution.tune_controller.TuneController.save_to_dir['trials']",
        "ray._private.no_such_module",
        "ray.tune.no_such_module.Thing",
    ]


def test_each_name_is_listed_once_with_a_module_that_exists() -> None:
    assert len({(n.target, n.key) for n in PRIVATE_NAMES}) == len(PRIVATE_NAMES)
    for name in PRIVATE_NAMES:
        assert importlib.util.find_spec(name.used_by) is not None, name.used_by
        assert name.why


def test_every_compat_module_says_what_it_was_checked_on() -> None:
    """Each module of the door says which releases it was checked on; in each that touches a name of
    PRIVATE_NAMES, so does each public function and class (what it touches, why, and on which releases)."""
    modules = sorted(p.stem for p in COMPAT.glob("*.py") if p.stem != "__init__")
    users = {n.used_by.rpartition(".")[2] for n in PRIVATE_NAMES if n.used_by.startswith("hpo.search.ray_compat.")}
    assert users <= set(modules)
    unchecked = []
    for stem in modules:
        tree = ast.parse((COMPAT / f"{stem}.py").read_text(encoding="utf-8"))
        if "Checked on Ray 2.60.0" not in (ast.get_docstring(tree) or ""):
            unchecked.append(stem)
        if stem not in users:
            continue
        exported = next(ast.literal_eval(node.value) for node in tree.body
                        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in exported:
                doc = ast.get_docstring(node) or ""
                if "Checked on Ray 2.60.0" not in doc and "Checked on Optuna 5.1.0" not in doc:
                    unchecked.append(f"{stem}.{node.name}")
    assert unchecked == []
    assert CHECKED_ON == "Ray 2.60.0, Optuna 5.1.0"
