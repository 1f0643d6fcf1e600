"""A spec that breaks its trainable's contract fails before Ray starts; one that reports no metric
fails at its first result; `pkg.mod:fn` imports from the working directory and the spec's folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpo.results import Store
from hpo.search.cli.main import cli
from hpo.trainables import contract_of

CIFAR: dict[str, Any] = {
    "name": "port", "trainable": "cifar", "metric": "val_loss", "mode": "min",
    "search": {"algorithm": "random", "num_samples": 2},
    "scheduler": {"type": "fifo", "max_t": 1},
    "params": {"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}},
    "fixed": {"dataset": "synthetic", "subset": 200, "epochs": 1},
}


def _write(folder: Path, data: dict[str, Any], name: str = "spec.yaml") -> str:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _ray_up() -> bool:
    import ray

    return ray.is_initialized()


@pytest.mark.parametrize("command", [["validate"], ["sweep", "--dry-run"], ["sweep", "-q"]])
def test_a_metric_the_cifar_trainable_does_not_report_exits_2_before_ray(
        command: list[str], tmp_home: Path, tmp_path: Path) -> None:
    before = _ray_up()
    spec = _write(tmp_path, {**CIFAR, "metric": "loss"})
    result = CliRunner().invoke(cli, [*command, spec])
    assert result.exit_code == 2, result.output
    metrics = ", ".join(contract_of("cifar").metrics or ())
    assert result.output == (f"{spec}: 1 problem\n  metric: the cifar trainable does not report 'loss' "
                             f"(did you mean 'val_loss'?); it reports: {metrics}\n")
    assert _ray_up() == before
    assert not (tmp_home / "ray").exists()


def test_a_typo_in_fixed_fails_validate(tmp_path: Path) -> None:
    spec = _write(tmp_path, {**CIFAR, "fixed": {**CIFAR["fixed"], "lrr": 0.1}})
    result = CliRunner().invoke(cli, ["validate", spec])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{spec}: 1 problem",
        "  fixed.lrr: the cifar trainable has no config key 'lrr' (did you mean 'lr'?); it accepts: "
        + ", ".join(sorted(contract_of("cifar").config or {})),
    ]


def test_two_gpus_for_the_cifar_trainable_are_refused(tmp_path: Path) -> None:
    spec = _write(tmp_path, {**CIFAR, "resources": {"cpu": 1, "gpu": 2}})
    result = CliRunner().invoke(cli, ["sweep", spec, "--dry-run"])
    assert result.exit_code == 2
    assert ("  resources.gpu: each worker of the cifar trainable trains on one GPU, got gpu=2; use gpu: 1 or less "
            "(a fraction packs trials onto one GPU), and resources.workers: 2 with gpu: 1 for 2 GPUs per trial"
            ) in result.output.splitlines()


def test_the_dry_run_shows_only_the_rungs_a_smaller_stop_leaves(tmp_path: Path) -> None:
    spec = _write(tmp_path, {**CIFAR, "scheduler": {"type": "asha", "max_t": 20, "grace_period": 1,
                                                    "reduction_factor": 2}, "stop": {"training_iteration": 10}})
    result = CliRunner().invoke(cli, ["sweep", spec, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "  rungs       1, 2, 4, 8 (then max_t 10)" in result.output.splitlines()


UNDECLARED = '''
from ray import tune


def train(config):
    for step in range(1, 4):
        tune.report({"score": config["x"] * step})
'''


@pytest.mark.integration
def test_an_undeclared_trainable_that_reports_no_metric_ends_the_sweep_at_once(
        ray_session: None, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nometric_mod.py").write_text(UNDECLARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = _write(tmp_path, {
        "name": "nometric", "trainable": "nometric_mod:train", "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 4}, "scheduler": {"type": "asha", "max_t": 3},
        "params": {"x": {"type": "float", "low": 0, "high": 1}}})
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["sweep", spec, "-q"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("hpo sweep: trial ")
    assert lines[0].endswith(" reported no 'loss' (the spec's metric); it reported: score; report it with "
                             "ray.tune.report, or set metric: to one of those")
    assert time.monotonic() - started < 60
    record = Store.open(home=tmp_home).get_sweep("nometric")
    assert record.status == "failed" and record.reason == lines[0].removeprefix("hpo sweep: ")


TRAIN_BESIDE_SPEC = '''
from ray import tune


def train(config):
    for step in range(1, 3):
        tune.report({"loss": (config["x"] - 0.3) ** 2 + 1.0 / step})
'''


@pytest.mark.slow
@pytest.mark.integration
def test_the_cli_imports_a_trainable_beside_the_spec_from_a_foreign_working_directory(tmp_path: Path) -> None:
    lab, elsewhere = tmp_path / "lab", tmp_path / "elsewhere"
    lab.mkdir()
    elsewhere.mkdir()
    (lab / "besidespec_mod.py").write_text(TRAIN_BESIDE_SPEC)
    spec = _write(lab, {"name": "beside", "trainable": "besidespec_mod:train", "metric": "loss", "mode": "min",
                        "search": {"algorithm": "random", "num_samples": 2}, "scheduler": {"type": "fifo", "max_t": 2},
                        "resources": {"cpu": 1}, "cluster": {"num_cpus": 2},
                        "params": {"x": {"type": "float", "low": 0, "high": 1}}})
    hpo = Path(sys.executable).parent / "hpo"  # the console script: its sys.path has neither folder
    env = {**os.environ, "HPO_HOME": str(tmp_path / "runs")}
    env.pop("HPO_STORE", None)
    done = subprocess.run([str(hpo), "sweep", spec, "-q"], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "sweep beside finished: 2 trial(s)" in done.stdout


def test_the_cli_imports_a_trainable_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "cwd_mod_contract.py").write_text(textwrap.dedent('''
        from hpo.trainables import declare

        @declare(metrics=["loss"])
        def train(config):
            pass
    '''))
    spec = _write(tmp_path / "..", {**CIFAR, "name": "cwdmod", "trainable": "cwd_mod_contract:train",
                                    "metric": "los", "fixed": {}}, name=f"{tmp_path.name}-cwd.yaml")
    hpo = Path(sys.executable).parent / "hpo"
    done = subprocess.run([str(hpo), "validate", spec], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines()[1] == ("  metric: trainable cwd_mod_contract:train does not report 'los' "
                                           "(did you mean 'loss'?); it reports: loss")
