"""``run_sweep`` takes a notebook's dict or a file's path as well as a parsed spec; checked before Ray starts.

The run of a dict spec end to end is the port guide's example (``docs/how-to/port-ray-tune.md``,
run by ``tests/docs_tests/test_docs_howto2.py`` on the session's Ray).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo import SpecError, run_sweep

NOTEBOOK: dict[str, Any] = {
    "name": "nb",
    "trainable": "cifar",
    "metric": "val_acc",
    "mode": "max",
    "params": {"lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True}},
    "fixed": {"dataset": "synthetic", "epochs": 1},
}


def test_a_bad_dict_gets_every_problem_in_one_error_and_leaves_nothing(tmp_home: Path) -> None:
    bad = {**NOTEBOOK, "mode": "maximise", "search": {"num_sample": 2}}
    with pytest.raises(SpecError) as info:
        run_sweep(bad)
    assert str(info.value) == """spec: 2 problems
  search.num_sample: unknown key (did you mean 'num_samples'?); allowed: algorithm, sampler, num_samples, \
max_concurrent, seed, points_to_evaluate, warm_start
  mode: must be one of 'min', 'max', got 'maximise'"""
    assert not tmp_home.exists()  # no store, no Ray storage: nothing to clean up after a typo


def test_a_dict_is_checked_against_the_trainable_like_a_file(tmp_home: Path) -> None:
    with pytest.raises(SpecError) as info:
        run_sweep({**NOTEBOOK, "fixed": {"dataset": "synthetic", "epoch": 1}})
    assert str(info.value).startswith("spec: 1 problem\n  fixed.epoch: the cifar trainable has no config key "
                                      "'epoch' (did you mean 'epochs'?); it accepts: augment, batch_size, ")


def test_a_path_is_read_as_hpo_sweep_reads_it(tmp_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "typo.yaml"
    with pytest.raises(SpecError) as info:
        run_sweep(missing)
    assert str(info.value).startswith(f"{missing}: no such file, and not a built-in spec (built-ins: ")
    with pytest.raises(SpecError) as info:
        run_sweep(42)  # type: ignore[arg-type]
    assert str(info.value) == "spec: expected a SweepSpec, a dict, or the path of a YAML spec file, got int"
