"""Real programs, unchanged, as command trials through ``hpo sweep`` and ``run_sweep`` on a real Ray: an
argparse script (booleans, a nested group, a value with spaces and quotes; it echoes its argv, which is
checked exactly), a Hydra app taking ``key=value`` overrides, a script that logs only through torch's
``SummaryWriter`` (tuned on its event files), and one whose metrics only a regex finds in its output.

The scripts live in ``command_programs/``; each test copies them to its own folder, which is the spec's
folder (``HPO_SPEC_DIR``), so the relative program paths resolve there. Every sweep is 2 trials of 2 reports
on the session's Ray.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpo.search.cli.main import cli

PROGRAMS = Path(__file__).parent / "command_programs"
NOTE = 'two "quoted" words, it\'s'  # reaches the script as one argument, quotes and all
GRID = {"algorithm": "grid", "num_samples": 1}
FIFO = {"type": "fifo", "max_t": 2}

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=8)]


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    """A copy of the scripts: the spec's folder for the test's sweeps."""
    folder = tmp_path / "programs"
    shutil.copytree(PROGRAMS, folder)
    return folder


def _spec(name: str, trainable: dict[str, Any], *, params: dict[str, Any], fixed: dict[str, Any],
          metric: str = "loss") -> dict[str, Any]:
    return {"name": name, "trainable": trainable, "metric": metric, "mode": "min", "search": GRID,
            "scheduler": FIFO, "resources": {"cpu": 1, "gpu": 0}, "params": params, "fixed": fixed}


def _sweep_cli(folder: Path, spec: dict[str, Any]) -> str:
    """``hpo sweep FILE -q`` on the spec written beside the scripts; its output, after checking it finished."""
    path = folder / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    ran = CliRunner().invoke(cli, ["sweep", str(path), "-q"])
    assert ran.exit_code == 0, ran.output
    assert f"sweep {spec['name']} finished: 2 trial(s) (completed 2)" in ran.output
    return ran.output


def _trials(name: str) -> dict[str, Any]:
    """The sweep's trials from the store, by trial id, each completed with 2 results."""
    from hpo.results import Store

    rows = {t.trial_id: t for t in Store.open().trials(name)}
    assert len(rows) == 2
    assert {(t.status, t.iterations) for t in rows.values()} == {("completed", 2)}
    return rows


def _written(home: Path, name: str, filename: str) -> list[tuple[Path, dict[str, Any]]]:
    """(its trial folder, its content) of each ``filename`` a script wrote where it ran, in the sweep's folder."""
    found = sorted((home / "ray" / name).glob(f"*/{filename}"))
    return [(path.parent, json.loads(path.read_text())) for path in found]


def _argv_expected(spec_dir: Path, use_amp: bool) -> list[str]:
    # argv[0]: the script, made absolute in the spec's folder. Then config order: params (use_amp, the optimizer
    # group), then fixed; {epochs} is a placeholder, so it is not repeated; a false boolean (debug, and use_amp
    # in one trial) is left out.
    return [str(spec_dir / "argv_echo.py"), "--epochs", "2", *(["--use_amp"] if use_amp else []),
            "--optimizer.name=sgd", "--optimizer.momentum=0.9", "--lr=0.01", f"--note={NOTE}"]


def _argv_spec(name: str, **command: Any) -> dict[str, Any]:
    return _spec(name, {"command": "python argv_echo.py --epochs {epochs}", **command},
                 params={"use_amp": {"type": "grid", "values": [True, False]},
                         "optimizer": {"name": "sgd", "momentum": 0.9}},
                 fixed={"epochs": 2, "lr": 0.01, "debug": False, "note": NOTE})


def _check_argv_trials(name: str, *, home: Path, spec_dir: Path, threads: str, gpus: tuple[str, ...] = ("",)
                       ) -> None:
    rows = _trials(name)
    written = _written(home, name, "argv.json")
    assert len(written) == 2
    for folder, seen in written:
        env = seen["env"]
        trial = rows[env["HPO_TRIAL_ID"]]
        use_amp = trial.config["use_amp"]
        assert seen["argv"] == _argv_expected(spec_dir, use_amp)
        assert seen["parsed"] == {"epochs": 2, "lr": 0.01, "use_amp": use_amp, "debug": False, "note": NOTE,
                                  "optimizer_name": "sgd", "optimizer_momentum": 0.9}
        # The env contract: its own folder as cwd, the spec's folder, the whole config, no GPU, thread vars.
        assert seen["cwd"] == env["HPO_TRIAL_DIR"] == str(folder)
        assert env["HPO_SPEC_DIR"] == str(spec_dir)
        assert env["HPO_SWEEP"] == name
        assert json.loads(Path(env["HPO_CONFIG_JSON"]).read_text()) == trial.config
        assert Path(env["HPO_CHECKPOINT_DIR"]).is_dir()
        assert env["CUDA_VISIBLE_DEVICES"] in gpus  # the GPU Ray gave the trial; "" with none
        assert (env["OMP_NUM_THREADS"], env["PYTHONUNBUFFERED"]) == (threads, "1")
        assert trial.last_result["loss"] == pytest.approx((0.01 - 0.05) ** 2 + 0.1 / 2 + (0.5 if use_amp else 0))
        assert trial.last_result["epoch"] == 2


def test_an_argparse_script_gets_its_booleans_group_and_quoted_text_exactly(
        ray_session: None, tmp_home: Path, programs: Path) -> None:
    _sweep_cli(programs, _argv_spec("argv"))
    _check_argv_trials("argv", home=tmp_home, spec_dir=programs, threads="1")


def test_the_same_script_through_run_sweep_with_a_dict_spec_runs_from_the_working_dir(
        ray_session: None, tmp_home: Path, programs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpo import run_sweep

    monkeypatch.chdir(programs)  # a spec given as a dict: its folder is the working directory
    spec = _argv_spec("argv-api", env={"OMP_NUM_THREADS": "2"})
    spec["resources"] = {"cpu": 1, "gpu": 1}  # the session's Ray declares 2 logical GPUs
    outcome = run_sweep(spec, progress="none")
    assert (outcome.status, outcome.counts["completed"]) == ("finished", 2)
    # the spec's env wins; each trial sees only the GPU Ray gave it
    _check_argv_trials("argv-api", home=tmp_home, spec_dir=programs, threads="2", gpus=("0", "1"))


def test_a_hydra_app_takes_key_value_overrides_and_stays_in_the_trial_folder(
        ray_session: None, tmp_home: Path, programs: Path) -> None:
    # The app's @hydra.main has no version_base (Hydra 1.1's behaviour: it would chdir to outputs/...):
    # hydra.job.chdir=false in the command keeps it in its trial's folder.
    spec = _spec("hydra", {"command": "python hydra_app/train.py hydra.job.chdir=false", "args": "hydra"},
                 params={"lr": {"type": "grid", "values": [0.01, 0.1]}, "optimizer": {"momentum": 0.9}},
                 fixed={"epochs": 2, "run_name": "two words"})
    _sweep_cli(programs, spec)
    rows = _trials("hydra")
    written = _written(tmp_home, "hydra", "cfg.json")
    assert sorted(seen["cfg"]["lr"] for _, seen in written) == [0.01, 0.1]
    for folder, seen in written:
        assert seen["cfg"] == {"lr": seen["cfg"]["lr"], "epochs": 2, "run_name": "two words",
                               "optimizer": {"name": "sgd", "momentum": 0.9}}  # name: the app's own default
        assert seen["cwd"] == str(folder)
        assert (folder / "outputs").is_dir()  # Hydra's run folder, one per trial: no clash between trials
    assert sorted(t.last_result["loss"] for t in rows.values()) == pytest.approx(
        sorted((lr - 0.05) ** 2 + 0.1 / 2 for lr in (0.01, 0.1)))


def test_a_script_that_only_writes_tensorboard_events_is_tuned_on_them(
        ray_session: None, tmp_home: Path, programs: Path) -> None:
    board = {"dir": "logs", "tags": {"Loss/test": "val_loss", "Accuracy/test": "val_acc"}}
    spec = _spec("board", {"command": "python tb_train.py", "metrics": {"lines": False, "tensorboard": board}},
                 params={"lr": {"type": "grid", "values": [0.01, 0.1]}}, fixed={"epochs": 2}, metric="val_loss")
    _sweep_cli(programs, spec)
    from hpo.results import Store

    store = Store.open()
    for trial in _trials("board").values():
        loss = [(trial.config["lr"] - 0.05) ** 2 + 1.0 / (epoch + 1) for epoch in (0, 1)]
        history = store.history(trial.trial_id, sweep="board")
        assert list(history["iteration"]) == [1, 2]
        assert list(history["val_loss"]) == pytest.approx(loss, rel=1e-6)  # float32 in the event file
        assert trial.last_result["val_acc"] == pytest.approx(1.0 - loss[1] / 2, rel=1e-6)
        assert trial.last_result["tensorboard_step"] == 1
        assert "Loss/train" not in trial.last_result  # an unmapped tag is not a metric


def test_a_script_whose_metrics_only_a_regex_finds_in_its_output(
        ray_session: None, tmp_home: Path, programs: Path) -> None:
    regex = [r"Average loss: (?P<val_loss>[0-9.]+)", r"Accuracy: \d+/\d+ \((?P<val_acc>[0-9.]+)%\)"]
    spec = _spec("regex", {"command": "python regex_train.py", "metrics": {"lines": False, "regex": regex}},
                 params={"lr": {"type": "grid", "values": [0.01, 0.1]}}, fixed={"epochs": 2}, metric="val_loss")
    _sweep_cli(programs, spec)
    for trial in _trials("regex").values():
        loss = (trial.config["lr"] - 0.05) ** 2 + 1.0 / 2
        assert trial.last_result["val_loss"] == pytest.approx(round(loss, 4))
        assert trial.last_result["val_acc"] == pytest.approx(round(100 * int(10000 * (1 - loss / 2)) / 10000, 2))
