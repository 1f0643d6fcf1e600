"""`hpo validate` and the CLI's exit codes for bad specs (no Ray)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hpo.search.cli.main import cli

GOOD = """\
name: good
trainable: cifar
metric: val_loss
mode: min
search: {algorithm: random, num_samples: 3}
params:
  lr: {type: float, low: 1e-4, high: 1e-1, log: true}
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_validate_ok_prints_one_line_per_spec(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    result = CliRunner().invoke(cli, ["validate", good, "quickstart"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"OK  {good}: sweep good, random, 3 trials, asha max_t 10",
        "OK  quickstart: sweep quickstart, hyperopt, 8 trials, asha max_t 4",
    ]


def test_validate_bad_exits_2_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", GOOD.replace("low: 1e-4", "low: 0").replace("num_samples: 3", "num_samples: 0"))
    result = CliRunner().invoke(cli, ["validate", bad])
    assert result.exit_code == 2
    assert result.stderr == (f"{bad}: 2 problems\n  search.num_samples: must be >= 1, got 0\n"
                             "  params.lr: log: true needs low > 0, got low=0.0\n")
    assert "Traceback" not in result.output


def test_debug_anywhere_shows_the_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", GOOD.replace("mode: min", "mode: up"))
    result = CliRunner().invoke(cli, ["validate", bad, "--debug"])
    assert result.exit_code == 2 and "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith(f"{bad}: mode: must be one of 'min', 'max', got 'up'".replace(
        f"{bad}: mode", f"{bad}: 1 problem\n  mode"))


def test_one_bad_file_among_good_ones_still_exits_2(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    result = CliRunner().invoke(cli, ["validate", good, str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"OK  {good}")
    assert result.stderr.startswith(f"{tmp_path / 'missing.yaml'}: no such file, and not a built-in spec (built-ins: ")


def test_unreadable_yaml_and_non_mapping(tmp_path: Path) -> None:
    broken = _write(tmp_path, "broken.yaml", "name: x\nparams: {lr: [1, 2}\n")
    listy = _write(tmp_path, "list.yaml", "- a\n- b\n")
    result = CliRunner().invoke(cli, ["validate", broken, listy])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{broken}:2:19: invalid YAML: expected ',' or ']', but got '}}'",
        f"{listy}: the top level must be a mapping (name, trainable, metric, ...), got a list",
    ]


def test_set_overrides_apply_before_validation(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    result = CliRunner().invoke(cli, ["validate", good, "--set", "search.algorithm=grid"])
    assert result.exit_code == 2
    assert "search.algorithm: grid needs every param discrete, got continuous params.lr" in result.stderr


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "sweep", "resume", "extend", "ls", "trials", "best", "report"):
        assert f"  {command}" in result.stdout


def test_validate_and_the_dry_run_print_the_same_plan(tmp_path: Path) -> None:
    # A grid, a stop below max_t and a concurrency cap: every number either prints comes from the plan.
    spec = _write(tmp_path, "plan.yaml", GOOD.replace("num_samples: 3}", "num_samples: 3, max_concurrent: 2}")
                  + "  batch_size: {type: grid, values: [64, 128]}\nstop: {training_iteration: 6}\n")
    validated = CliRunner().invoke(cli, ["validate", spec])
    assert validated.exit_code == 0, validated.output
    assert validated.stdout == f"OK  {spec}: sweep good, random, 6 trials, asha max_t 6\n"
    dry = CliRunner().invoke(cli, ["sweep", spec, "--dry-run", "--samples", "1"])
    assert dry.exit_code == 0, dry.output
    budget = dry.stdout.split("Budget\n")[1].split("Sample configs")[0]
    assert budget.splitlines() == [
        "  trials      6 (3 x a grid of 2)",
        "  at once     2 trial(s)",
        "  rungs       1, 2, 4 (then max_t 6)",
        "  training_iteration: at most 36 without early stopping (6 x 6)",
        "  about 14 with asha keeping the top 1/2 at each rung (0.39x)",
    ]
