"""The checks of a command trainable before anything runs (no Ray): files, placeholders, flags, refusals."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpo.results import Store
from hpo.search.engine.checks import COMMAND_CONTRACT, check_spec
from hpo.search.errors import SweepInputError
from hpo.spaces import SpecError, SweepSpec, load_spec, parse_spec
from hpo.trainables.command.checks import command_problems, config_names, spec_dir_of


def _spec(folder: Path, trainable: dict[str, Any], **more: Any) -> SweepSpec:
    data = {"name": "cmd", "trainable": trainable, "metric": "val_loss", "mode": "min",
            "search": {"algorithm": "random", "num_samples": 2, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 2},
            "params": {"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
                       "optimizer": {"type": "choice", "values": [
                           {"name": "sgd", "momentum": {"type": "float", "low": 0.8, "high": 0.95}},
                           {"name": "adamw", "weight_decay": {"type": "float", "low": 1e-5, "high": 0.1}}]}},
            "fixed": {"epochs": 3}, **more}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("print('hpo-report: {\"val_loss\": 1}')\n")
    return tmp_path


def _problems(spec: SweepSpec) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as err:
        check_spec(spec)
    return err.value.problems


def test_a_good_command_passes_with_the_command_contract(folder: Path) -> None:
    spec = _spec(folder, {"command": "python train.py --epochs {epochs}"})
    assert check_spec(spec) == COMMAND_CONTRACT
    assert spec_dir_of(spec) == folder.resolve()


def test_a_spec_given_as_data_resolves_against_the_working_directory(folder: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    spec = parse_spec(yaml.safe_load(_spec(folder, {"command": "python train.py"}).to_yaml()))
    assert spec_dir_of(spec) == folder.resolve() and check_spec(spec) == COMMAND_CONTRACT


def test_unknown_and_conditional_placeholders(folder: Path) -> None:
    spec = _spec(folder, {"command": "python train.py --epochs {epoch} --m {optimizer.weight_decay}"})
    assert _problems(spec) == [
        ("trainable.command", "{epoch} names no param or fixed value (did you mean epochs?); it may name: epochs, lr, "
                              "optimizer.name, spec_dir, trial_dir, trial_id, checkpoint_dir"),
        ("trainable.command", "{optimizer.weight_decay} exists only when optimizer.name is adamw; take "
                              "{optimizer.weight_decay} out of the command: args: flags passes what each trial has"),
    ]
    hydra = _spec(folder, {"command": "python train.py {optimizer.weight_decay}", "args": "hydra"})
    assert _problems(hydra) == [
        ("trainable.command", "{optimizer.weight_decay} exists only when optimizer.name is adamw; use args: flags, "
                              "which passes what each trial has")]


def test_placeholders_in_env_and_a_stray_brace(folder: Path) -> None:
    spec = _spec(folder, {"command": "python train.py {x", "env": {"OUT": "{trial_dir}/{lr2}"}})
    assert _problems(spec) == [
        ("trainable.command", "{x in '{x' is not a {name} placeholder; write {{ and }} for literal braces"),
        ("trainable.env.OUT", "{lr2} names no param or fixed value (did you mean lr?); it may name: epochs, lr, "
                              "optimizer.name, spec_dir, trial_dir, trial_id, checkpoint_dir"),
    ]


def test_the_program_must_exist(folder: Path) -> None:
    where = folder.resolve()
    assert _problems(_spec(folder, {"command": "python trian.py"})) == [
        ("trainable.command", f"program trian.py not found in the spec's folder {where}")]
    assert _problems(_spec(folder, {"command": "./train.sh --x 1"})) == [
        ("trainable.command", f"program ./train.sh not found in the spec's folder {where}")]
    assert _problems(_spec(folder, {"command": ["no-such-tool-hpo", "run"]})) == [
        ("trainable.command", f"program no-such-tool-hpo not found on PATH nor in the spec's folder {where}")]
    (folder / "train.sh").write_text("#!/bin/sh\n")
    assert _problems(_spec(folder, {"command": "./train.sh"})) == [
        ("trainable.command", f"program ./train.sh in the spec's folder {where} is not executable; chmod +x it, or "
                              "start the command with its interpreter (bash, python)")]
    os.chmod(folder / "train.sh", 0o755)
    for good in ("./train.sh", "{spec_dir}/train.sh", f"{sys.executable} -c pass", "python -m json.tool", "echo hi"):
        assert check_spec(_spec(folder, {"command": good})) == COMMAND_CONTRACT, good


def test_cwd_must_exist(folder: Path) -> None:
    assert _problems(_spec(folder, {"command": "python train.py", "cwd": "data/run"})) == [
        ("trainable.cwd", f"folder data/run not found in the spec's folder {folder.resolve()}; use cwd: trial, or an "
                          "existing folder")]
    (folder / "data" / "run").mkdir(parents=True)
    assert check_spec(_spec(folder, {"command": "python train.py", "cwd": "data/run"})) == COMMAND_CONTRACT


def test_flags_cannot_pass_lists_nor_null_but_hydra_and_placeholders_can(folder: Path) -> None:
    more = {"fixed": {"epochs": 3, "note": None}}
    params = {"layers": {"type": "choice", "values": [[64, 128], [32]]},
              "optimizer": {"type": "choice", "values": [{"name": "sgd", "betas": [0.9, 0.99]}]}}
    spec = _spec(folder, {"command": "python train.py"}, **more)
    spec = parse_spec({**spec.to_dict(), "params": params}, source=spec.source)
    assert _problems(spec) == [
        ("fixed.note", "args: flags cannot pass null; leave the key out, or use args: hydra"),
        ("params.layers", "args: flags cannot pass a list as one flag (got [64, 128]); use args: hydra, or {layers} "
                          "with args: none"),
        ("params.optimizer.betas", "args: flags cannot pass a list as one flag (got [0.9, 0.99]); use args: hydra, or "
                                   "{optimizer.betas} with args: none"),
    ]
    placed = parse_spec({**spec.to_dict(), "trainable": {"command": "python train.py {layers} {optimizer} {note}"}},
                        source=spec.source)
    assert check_spec(placed) == COMMAND_CONTRACT
    hydra = parse_spec({**spec.to_dict(), "trainable": {"command": "python train.py", "args": "hydra"}},
                       source=spec.source)
    assert check_spec(hydra) == COMMAND_CONTRACT


def test_workers_and_halve_batch_are_refused_in_one_line_each(folder: Path) -> None:
    spec = _spec(folder, {"command": "python train.py"}, resources={"workers": 2},
                 failures={"on_oom": "halve_batch"})
    assert _problems(spec) == [
        ("resources.workers", "a command trainable runs one process per trial; torchrun for workers > 1 is not "
                              "supported yet, use workers: 1 (the script may start its own workers)"),
        ("failures.on_oom", "halve_batch needs a trainable that halves its own batch (cifar); a command trainable "
                            "fails on CUDA out of memory: use on_oom: fail"),
    ]
    assert check_spec(_spec(folder, {"command": "python train.py"}, resources={"gpu": 2})) == COMMAND_CONTRACT


def test_pbt_runs_a_command_as_a_checkpointing_trainable(folder: Path) -> None:
    spec = _spec(folder, {"command": "python train.py"},
                 scheduler={"type": "pbt", "max_t": 4, "perturbation_interval": 2})
    assert check_spec(spec) == COMMAND_CONTRACT


def test_config_names_say_when_a_key_exists() -> None:
    space = {"lr": {"type": "float", "low": 0.1, "high": 1.0},
             "opt": {"type": "choice", "values": [{"name": "a", "m": 1, "both": 1}, {"name": "b", "both": 2}]},
             "grp": {"x": 1, "inner": {"y": 2}},
             "mixed": {"type": "choice", "values": [{"k": 1}, 3]}}
    assert config_names(space) == {
        "lr": None, "opt": None, "opt.name": None, "opt.m": "when opt.name is a", "opt.both": None, "grp": None,
        "grp.x": None, "grp.inner": None, "grp.inner.y": None, "mixed": None, "mixed.k": "in some of mixed's choices"}


def test_command_problems_alone_take_the_folder_given(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    spec = _spec(folder, {"command": "python train.py"})
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert command_problems(spec, spec_dir=folder) == []
    assert command_problems(spec, spec_dir=elsewhere) == [
        ("trainable.command", f"program train.py not found in the spec's folder {elsewhere.resolve()}")]
    with pytest.raises(SpecError):
        check_spec(spec, spec_dir=elsewhere)


def _finished_parent(tmp_path: Path, spec: SweepSpec) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    store.start_sweep(name=spec.name, spec_yaml=spec.to_yaml(), spec_hash=spec.spec_hash(), metric=spec.metric,
                      mode=spec.mode)
    store.finish_sweep(spec.name, "finished")
    return store


def test_confirm_needs_the_seed_to_reach_a_command(folder: Path) -> None:
    from hpo.search.derive.confirm import confirm_spec

    store = _finished_parent(folder, _spec(folder, {"command": "python train.py --lr {lr}", "args": "none"}))
    with pytest.raises(SweepInputError) as err:
        confirm_spec("cmd", store=store, top=1, seeds=2)
    assert str(err.value) == ("trainable.command: confirm re-runs each config with fresh seeds, and args: none passes "
                              "only placeholders: add {seed} to the command, or use args: flags")
    (folder / "flags").mkdir()
    flags = _finished_parent(folder / "flags", _spec(folder, {"command": "python train.py"}))
    with pytest.raises(SweepInputError) as past:
        confirm_spec("cmd", store=flags, top=1, seeds=2)
    assert str(past.value) == "sweep 'cmd' has no completed trial to confirm"  # past the seed check


@pytest.mark.parametrize(("search", "scheduler", "required", "exploits"), [
    ({"algorithm": "hyperopt"}, {"type": "median"}, ("val_loss",), False),
    ({"algorithm": "optuna"}, {"type": "hyperband"}, ("val_loss",), False),
    ({"algorithm": "random"}, {"type": "asha", "metric": "val_acc", "mode": "max"}, ("val_loss", "val_acc"), False),
    ({"algorithm": "random"}, {"type": "pb2", "perturbation_interval": 1, "mutate": ["lr"]}, ("val_loss",), True),
])
def test_every_searcher_and_scheduler_takes_a_command(folder: Path, search: dict[str, Any],
                                                      scheduler: dict[str, Any], required: tuple[str, ...],
                                                      exploits: bool) -> None:
    from hpo.search.engine.preview import dry_run_report
    from hpo.trainables.command import CommandSettings

    spec = _spec(folder, {"command": "python train.py"}, search={**search, "num_samples": 2, "seed": 0},
                 scheduler={**scheduler, "max_t": 2})
    assert check_spec(spec) == COMMAND_CONTRACT
    settings = CommandSettings.from_spec(spec, spec_dir=folder)
    # the metrics that complete a result; under PBT/PB2 every result carries a checkpoint (an exploit takes the last)
    assert (settings.required, settings.exploits) == (required, exploits)
    lines = dry_run_report(spec, samples=1).splitlines()
    assert any(line.strip().startswith(f"$ {sys.executable} {folder.resolve() / 'train.py'} --lr=")
               for line in lines), lines
