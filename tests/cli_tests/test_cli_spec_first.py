"""`hpo sweep` shows a spec's problems first, with its name's clash in the same error: one run, everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpo.results import Store
from hpo.search.cli.main import cli
from hpo.trainables import contract_of

SPEC: dict[str, Any] = {
    "name": "first", "trainable": "cifar", "metric": "val_acc", "mode": "max",
    "search": {"algorithm": "optuna", "num_samples": 2, "seed": 0},
    "scheduler": {"type": "asha", "max_t": 2, "grace_period": 1},
    "params": {"lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True}},
    "fixed": {"dataset": "synthetic", "subset": 200, "model": "tutorial_cnn", "epochs": 2},
}
CLASH = "  name: sweep 'first' already finished in the store; choose another name with --name NEW_NAME"
SEARCH_KEYS = "algorithm, sampler, num_samples, max_concurrent, seed, points_to_evaluate, warm_start"


@pytest.fixture(autouse=True)
def _first_is_taken(tmp_home: Path) -> None:
    store = Store.open()
    store.start_sweep(name="first", spec_yaml="", spec_hash="", metric="val_acc", mode="max")
    store.finish_sweep("first", "finished")


def _write(tmp_path: Path, **over: Any) -> str:
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **over}, sort_keys=False))
    return str(path)


def test_a_key_the_trainable_does_not_take_and_the_taken_name_in_one_run(tmp_path: Path) -> None:
    spec = _write(tmp_path, fixed={**SPEC["fixed"], "modle": "tutorial_cnn"})
    result = CliRunner().invoke(cli, ["sweep", spec, "-q"])
    assert result.exit_code == 2
    keys = ", ".join(sorted(contract_of("cifar").config or {}))
    assert result.stderr == (f"{spec}: 2 problems\n"
                             f"  fixed.modle: the cifar trainable has no config key 'modle' (did you mean 'model'?); "
                             f"it accepts: {keys}\n{CLASH}\n")


def test_a_spec_that_does_not_parse_and_the_taken_name_in_one_run(tmp_path: Path) -> None:
    spec = _write(tmp_path, search={**SPEC["search"], "metric": "val_acc"})
    result = CliRunner().invoke(cli, ["sweep", spec, "-q"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{spec}: 2 problems\n"
        "  search.metric: unknown key (did you mean the top-level metric:? the searcher optimises the sweep's "
        f"metric; scheduler.metric gives the scheduler another); allowed: {SEARCH_KEYS}\n{CLASH}\n")
    renamed = CliRunner().invoke(cli, ["sweep", spec, "-q", "--name", "second"])  # a free name: the spec alone
    assert renamed.exit_code == 2
    assert renamed.stderr.splitlines()[0] == f"{spec}: 1 problem"


def test_the_dry_run_and_validate_stay_store_free(tmp_path: Path) -> None:
    spec = _write(tmp_path)
    assert CliRunner().invoke(cli, ["validate", spec]).exit_code == 0
    result = CliRunner().invoke(cli, ["sweep", spec, "--dry-run", "--samples", "1"])
    assert result.exit_code == 0 and result.stdout.startswith("Sweep first  (")


def test_validate_says_what_a_scheduler_with_its_own_metric_ranks_by(tmp_path: Path) -> None:
    spec = _write(tmp_path, scheduler={**SPEC["scheduler"], "metric": "val_loss", "mode": "min"})
    result = CliRunner().invoke(cli, ["validate", spec])
    assert result.exit_code == 0
    assert result.stdout == f"OK  {spec}: sweep first, optuna, 2 trials, asha max_t 2 by val_loss (min)\n"
    wrong = CliRunner().invoke(cli, ["validate", spec, "--set", "scheduler.metric=loss"])
    assert wrong.exit_code == 2
    assert wrong.stderr.splitlines()[1].startswith(
        "  scheduler.metric: the cifar trainable does not report 'loss' (did you mean 'val_loss'?); it reports: ")
