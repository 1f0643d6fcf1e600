"""`hpo validate` and `hpo sweep --dry-run` for a command trainable (no Ray): the exact lines a person sees."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from hpo.search.cli.main import cli

SPEC = """\
name: cmd
trainable:
  command: python train.py --epochs {epochs} --out {trial_dir}/o
  metrics:
    regex: ['loss=(?P<val_loss>[0-9.]+)', 'acc=(?P<val_acc>[0-9.]+)']
    tensorboard: {dir: logs, tags: {Loss/test: val_loss}}
metric: val_loss
mode: min
search: {algorithm: random, num_samples: 2, seed: 0}
scheduler: {type: fifo, max_t: 3}
params:
  lr: {type: choice, values: [0.01, 0.1]}
  note: {type: choice, values: ["two words", "it's"]}
  use_amp: {type: choice, values: [true, false]}
  optimizer:
    type: choice
    values:
      - {name: sgd, momentum: {type: choice, values: [0.9]}}
fixed:
  epochs: 3
"""

# The dry run's golden text; DIR is the spec's folder, PYTHON this interpreter.
DRY_RUN = """\
Sweep cmd  (DIR/spec.yaml, spec HASH)
  trainable   command: python train.py --epochs {epochs} --out {trial_dir}/o (args flags; metrics lines, 2 regexes, \
tensorboard logs/; stop_grace 10s); metric val_loss (min)
  search      random, 2 samples, seed 3
  scheduler   fifo: max_t 3, grace 1, rf 2 (training_iteration)
  resources   1 CPU, 0 GPU per trial
  failures    max_retries 0, on_oom fail
  fixed       {"epochs": 3}
  params
    lr                       choice [0.01, 0.1]
    note                     choice ["two words", "it's"]
    use_amp                  choice [true, false]
    optimizer                choice [{...}]
    optimizer.values[0].momentum choice [0.9]
Budget
  trials      2
  at once     2 trial(s)
  training_iteration: at most 6 without early stopping (2 x 3)
Sample configs (2, seed 3)
  1. {"lr": 0.01, "note": "two words", "use_amp": false, "optimizer": {"name": "sgd", "momentum": 0.9}, "epochs": 3}
     $ PYTHON DIR/train.py --epochs 3 --out '<trial_dir>/o' --lr=0.01 '--note=two words' --optimizer.name=sgd \
--optimizer.momentum=0.9
  2. {"lr": 0.1, "note": "two words", "use_amp": true, "optimizer": {"name": "sgd", "momentum": 0.9}, "epochs": 3}
     $ PYTHON DIR/train.py --epochs 3 --out '<trial_dir>/o' --lr=0.1 '--note=two words' --use_amp \
--optimizer.name=sgd --optimizer.momentum=0.9
"""


def _folder(tmp_path: Path, spec: str = SPEC) -> Path:
    (tmp_path / "train.py").write_text("")
    (tmp_path / "spec.yaml").write_text(spec)
    return tmp_path / "spec.yaml"


def test_validate_a_good_command(tmp_path: Path) -> None:
    path = _folder(tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"OK  {path}: sweep cmd, random, 2 trials, fifo max_t 3\n"


def test_validate_a_bad_command_exits_2_with_every_problem(tmp_path: Path) -> None:
    path = _folder(tmp_path, SPEC.replace("train.py --epochs {epochs}", "trian.py --epochs {epoch}")
                   .replace("epochs: 3", "epochs: 3\n  layers: [64, 128]"))
    result = CliRunner().invoke(cli, ["validate", str(path), "--set", "resources.workers=2"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}: 4 problems\n"
        "  trainable.command: {epoch} names no param or fixed value (did you mean epochs?); it may name: epochs, "
        "layers, lr, note, optimizer.momentum, optimizer.name, use_amp, spec_dir, trial_dir, trial_id, "
        "checkpoint_dir\n"
        f"  trainable.command: program trian.py not found in the spec's folder {tmp_path.resolve()}\n"
        "  fixed.layers: args: flags cannot pass a list as one flag (got [64, 128]); use args: hydra, or {layers} "
        "with args: none\n"
        "  resources.workers: a command trainable runs one process per trial; torchrun for workers > 1 is not "
        "supported yet, use workers: 1 (the script may start its own workers)\n")


def test_the_dry_run_prints_each_samples_command_line(tmp_path: Path) -> None:
    path = _folder(tmp_path, SPEC.replace("seed: 0", "seed: 3"))
    result = CliRunner().invoke(cli, ["sweep", str(path), "--dry-run", "--samples", "2"])
    assert result.exit_code == 0, result.output
    spec_hash = result.stdout.splitlines()[0].split("spec ")[-1].rstrip(")")
    assert result.stdout == (DRY_RUN.replace("DIR", str(tmp_path.resolve())).replace("PYTHON", sys.executable)
                             .replace("HASH", spec_hash))


def test_a_cwd_of_its_own_shows_where_the_command_runs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = _folder(tmp_path, SPEC.replace("  metrics:", "  cwd: data\n  args: hydra\n  metrics:"))
    result = CliRunner().invoke(cli, ["sweep", str(path), "--dry-run", "--samples", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "(args hydra; metrics lines, 2 regexes, tensorboard logs/; cwd data; stop_grace 10s)" in lines[1]
    assert lines[-1] == (f"     $ {sys.executable} {tmp_path.resolve()}/train.py --epochs 3 --out '<trial_dir>/o' "
                         "lr=0.01 'note='\"'\"'it\\'\"'\"'s'\"'\"'' use_amp=false optimizer.name=sgd "
                         f"optimizer.momentum=0.9  (in {tmp_path.resolve() / 'data'})")


def test_a_bad_command_stops_the_dry_run(tmp_path: Path) -> None:
    path = _folder(tmp_path, SPEC.replace("{epochs}", "{epoch}"))
    result = CliRunner().invoke(cli, ["sweep", str(path), "--dry-run"])
    assert result.exit_code == 2 and "Sample configs" not in result.stdout
    assert result.stderr.startswith(f"{path}: 1 problem\n  trainable.command: {{epoch}} names no param")
