"""PBT's bad input through the CLI: one line per problem, exit 2, before Ray starts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hpo.search.cli.main import cli

PBT = ["--set", "scheduler.type=pbt", "--set", "search.algorithm=random"]

TOY = """\
name: toy-pbt
trainable: "undeclared_mod:train"
metric: loss
mode: min
search: {algorithm: random, num_samples: 2}
scheduler: {type: pbt, max_t: 4}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


def test_pbt_cannot_mutate_what_the_cifar_checkpoint_fixes() -> None:
    result = CliRunner().invoke(cli, ["sweep", "quickstart", *PBT, "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr == (
        "quickstart: 2 problems\n"
        "  params.l1: the cifar trainable cannot change 'l1' in a running trial (the checkpoint fixes it), and pbt "
        "would mutate it; set scheduler.mutate: [lr, momentum, l2, batch_size]\n"
        "  params.l2: the cifar trainable cannot change 'l2' in a running trial (the checkpoint fixes it), and pbt "
        "would mutate it; set scheduler.mutate: [lr, momentum, l1, batch_size]\n")
    assert "Traceback" not in result.output


def test_pbt_dry_run_shows_the_plan_when_the_mutations_are_allowed() -> None:
    result = CliRunner().invoke(cli, ["sweep", "quickstart", *PBT, "--set", "scheduler.mutate=[lr, batch_size]",
                                      "--dry-run"])
    assert result.exit_code == 0, result.output
    assert ("  exploits    every 1 training_iteration: the bottom 0.25 copy the top's checkpoints, mutating "
            "lr, batch_size\n") in result.stdout


def test_pbt_with_grid_search_is_refused() -> None:
    result = CliRunner().invoke(cli, ["validate", "cifar10-grid", "--set", "scheduler.type=pbt"])
    assert result.exit_code == 2
    assert ("  scheduler.type: pbt cannot run a grid search: it changes configs while trials run; "
            "use search.algorithm: random\n") in result.stderr


def test_pbt_needs_a_trainable_that_declares_checkpoints(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "undeclared_mod.py").write_text("def train(config):\n    pass\n")
    spec = tmp_path / "toy.yaml"
    spec.write_text(TOY)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{spec}: 1 problem\n  scheduler.type: pbt continues trials from other trials' checkpoints, and trainable "
        "undeclared_mod:train declares none; checkpoint with tune.report(..., checkpoint=) and declare it "
        "(register(..., checkpoints=True) or trainables.declare(checkpoints=True)), or use another scheduler\n")
