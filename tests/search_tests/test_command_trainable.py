"""Command trials on the session's real Ray: stopped by signal, retried from their checkpoint, failing with
one clear line. The scripts are in ``command_scripts/``; each sweep is tiny (a few short trials)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hpo.results import Store, error_summary
from hpo.search import run_sweep

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=60)]

SCRIPTS = Path(__file__).with_name("command_scripts")


def _command(script: str, *rest: str, **extra: Any) -> dict[str, Any]:
    return {"command": f"python {SCRIPTS / script} {' '.join(rest)}".strip(), **extra}


def _spec(**over: Any) -> Any:
    from hpo.spaces import parse_spec

    base: dict[str, Any] = {"metric": "loss", "mode": "min", "resources": {"cpu": 1, "gpu": 0},
                            "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}}}
    return parse_spec({k: v for k, v in {**base, **over}.items() if v is not None}, source="test")  # None: left out


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pids checked in /proc")
def test_asha_stops_a_trial_by_sigterm_and_nothing_of_it_is_left(ray_session: None, tmp_home: Path) -> None:
    # Two good configs run first; the two bad ones then fall below ASHA's first rung while their script runs on.
    spec = _spec(
        name="cmd-asha", trainable=_command("epochs.py", "--epochs 6 --pause 0.5", stop_grace="5s"),
        search={"algorithm": "grid", "num_samples": 1},
        scheduler={"type": "asha", "max_t": 6, "grace_period": 1, "reduction_factor": 2},
        params={"x": {"type": "grid", "values": [0.3, 0.35, -0.9, 0.95]}})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    trials = {t.trial_id: t for t in Store.open().trials(spec.name)}
    stopped = [t for t in trials.values() if t.status == "stopped_early"]
    # The bad two surely; 0.35 too when 0.3 reached a rung first (ASHA compares it with 0.3 alone then).
    assert {-0.9, 0.95} <= {t.config["x"] for t in stopped}
    assert outcome.counts["completed"] + outcome.counts["stopped_early"] == 4
    for trial in stopped:
        folder = Path(outcome.experiment_path) / f"command_{trial.trial_id}"
        pids = json.loads((folder / "pids.json").read_text())
        assert (folder / "sigterm").read_text() == str(pids["pid"])  # the script saw SIGTERM...
        assert _gone(pids["pid"]) and _gone(pids["child"])  # ...and neither it nor its child is left
        assert trial.iterations < 6
        assert not (folder / ".hpo-command.json").exists()
    # A result's row carries the time its line was printed, before the store saw it.
    best = outcome.best
    assert best is not None and best.config["x"] == 0.3
    history = Store.open().history(best.trial_id, sweep=spec.name)
    assert list(history["iteration"]) == [1, 2, 3, 4, 5, 6]
    assert "hpo_printed_at" not in history.columns


def test_a_script_that_crashes_once_is_retried_from_its_checkpoint(ray_session: None, tmp_home: Path) -> None:
    spec = _spec(
        name="cmd-retry", trainable=_command("crash_once.py", args="none"),
        search={"algorithm": "random", "num_samples": 1}, scheduler={"type": "fifo", "max_t": 4},
        failures={"max_retries": 1})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished" and outcome.counts["completed"] == 1
    (trial,) = Store.open().trials(spec.name)
    folder = Path(outcome.experiment_path) / f"command_{trial.trial_id}"
    assert (folder / "starts.txt").read_text().split() == ["0", "2"]  # the second start found epoch 2's state
    history = Store.open().history(trial.trial_id, sweep=spec.name)
    assert list(history["iteration"]) == [1, 2, 3, 4]  # each result stored once
    assert list(history["loss"]) == [1.0, 0.5, pytest.approx(1 / 3), 0.25]


def test_regex_only_a_script_without_the_metric_and_one_out_of_memory(ray_session: None, tmp_home: Path) -> None:
    spec = _spec(
        name="cmd-modes",
        trainable=_command("modes.py", metrics={"lines": False, "regex": [r"Average loss: (?P<loss>[0-9.]+)"]}),
        search={"algorithm": "grid", "num_samples": 1}, scheduler={"type": "fifo", "max_t": 4},
        failures={"fail_fast": False}, params={"mode": {"type": "grid", "values": ["regex", "silent", "oom"]}})
    outcome = run_sweep(spec, progress="none")
    by_mode = {t.config["mode"]: t for t in Store.open().trials(spec.name)}
    assert by_mode["regex"].status == "completed" and by_mode["regex"].iterations == 2
    assert by_mode["regex"].best_metric == 0.5
    assert error_summary(by_mode["silent"].error) == (
        "hpo.trainables.command.errors.CommandMetricError: python modes.py exited with code 0 without reporting "
        "loss (sources read: regex)")
    assert "regex: 1 pattern matched 0 of 3 lines" in by_mode["silent"].error
    assert error_summary(by_mode["oom"].error) == (
        "hpo.trainables.command.errors.CommandOutOfMemoryError: python modes.py ran out of GPU memory "
        "(exited with code 1; its output says CUDA out of memory)")
    assert "  | torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB" in by_mode["oom"].error
    assert outcome.counts["error"] == 2


def _starts(outcome: Any, trial_id: str) -> list[dict[str, Any]]:
    """What ``probe.py`` recorded at each start of the trial: pid, argv, config, the checkpoint it found."""
    folder = Path(outcome.experiment_path) / f"command_{trial_id}"
    return [json.loads(line) for line in (folder / "starts.jsonl").read_text().splitlines()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pids checked in /proc")
def test_pbt_restarts_the_exploiting_trial_with_the_donors_checkpoint_and_its_new_config(
    ray_session: None, tmp_home: Path
) -> None:
    # x=0.3 is the better trial; at iteration 2 the other (x=-0.9) takes its checkpoint and a perturbed x. The script
    # would run 6 epochs: every end of it before max_t is a pause or a stop, by SIGTERM.
    spec = _spec(
        name="cmd-pbt", trainable=_command("probe.py", "--epochs 6 --pause 0.4", stop_grace="5s"),
        search={"algorithm": "random", "num_samples": 2, "points_to_evaluate": [{"x": 0.3}, {"x": -0.9}]},
        scheduler={"type": "pbt", "max_t": 4, "perturbation_interval": 2, "quantile_fraction": 0.5,
                   "resample_probability": 0.0, "synch": True})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished", outcome.first_error
    store = Store.open()
    (event, *_) = store.lineage(spec.name)
    starts = _starts(outcome, event.trial_id)
    first = starts[0]
    assert (first["config"]["x"], first["found"]) == (-0.9, None)
    # PBT paused it: its script got SIGTERM and nothing of it is left.
    folder = Path(outcome.experiment_path) / f"command_{event.trial_id}"
    assert (folder / f"sigterm-{first['pid']}").exists() and _gone(first["pid"])
    taken = [s for s in starts[1:] if s["found"]["trial"] == event.from_trial]
    assert taken, starts
    new_x = taken[0]["config"]["x"]
    assert taken[0]["found"]["epoch"] == int(event.from_step) == 2  # the donor's state at its step 2...
    assert new_x in (pytest.approx(0.3 * 0.8), pytest.approx(0.3 * 1.2))  # ...with the donor's x perturbed
    assert taken[0]["argv"] == ["--epochs", "6", "--pause", "0.4", f"--x={new_x!r}"]
    history = store.history(event.trial_id, sweep=spec.name)
    assert list(history["iteration"]) == [1, 2, 3, 4]


def test_several_objectives_from_separate_lines_with_optuna_proposals(ray_session: None, tmp_home: Path) -> None:
    spec = _spec(
        name="cmd-two", trainable=_command("probe.py", "--two"), metric=None, mode=None,
        metrics=[{"name": "a", "mode": "min"}, {"name": "b", "mode": "max"}],
        search={"algorithm": "optuna", "num_samples": 2, "seed": 0}, scheduler={"type": "fifo", "max_t": 2})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished", outcome.first_error
    trials = Store.open().trials(spec.name)
    assert {(t.status, t.iterations) for t in trials} == {("completed", 2)}  # the last lone `a` made no result
    for trial in trials:
        x = trial.config["x"]
        (start,) = _starts(outcome, trial.trial_id)
        assert (start["argv"], start["config"]) == (["--two", f"--x={x!r}"], trial.config)  # Optuna's proposal
        history = Store.open().history(trial.trial_id, sweep=spec.name)
        assert list(history["b"]) == [pytest.approx(x), pytest.approx(2 * x)]
        assert list(history["a"]) == [pytest.approx((x - 0.3) ** 2 + 1), pytest.approx((x - 0.3) ** 2 + 0.5)]
        assert list(history["note"]) == [1, 2]  # rode along with the result b completed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pids checked in /proc")
def test_hyperopt_and_hyperband_then_confirm_and_extend_from_another_folder(
    ray_session: None, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpo.search import confirm_sweep, extend_sweep

    # The program is relative to the spec's folder (SCRIPTS); confirm and extend run from elsewhere. The script would
    # run 6 epochs: each end of it before is HyperBand's pause or stop, or max_t's, by SIGTERM.
    spec = _spec(name="cmd-hb", trainable={"command": "python probe.py --epochs 6 --pause 0.3", "stop_grace": "5s"},
                 search={"algorithm": "hyperopt", "num_samples": 4, "seed": 0},
                 scheduler={"type": "hyperband", "max_t": 2, "reduction_factor": 2})
    outcome = run_sweep(spec, progress="none", spec_dir=SCRIPTS)
    assert outcome.status == "finished", outcome.first_error
    store = Store.open()
    trials = store.trials(spec.name)
    # HyperBand's first bracket runs two trials to max_t; its second halves two at iteration 1: the first there is
    # paused until the other arrives, then the better goes on (a paused one restarts from its own checkpoint).
    assert sorted((t.status, t.iterations) for t in trials) == [("completed", 2)] * 3 + [("stopped_early", 1)]
    resumed = 0
    for trial in trials:
        first, *again = _starts(outcome, trial.trial_id)
        assert first["found"] is None and first["argv"] == ["--epochs", "6", "--pause", "0.3",
                                                            f"--x={trial.config['x']!r}"]
        assert [s["found"] for s in again] == [{"epoch": 1, "trial": trial.trial_id}] * len(again)
        resumed += len(again)
        folder = Path(outcome.experiment_path) / f"command_{trial.trial_id}"
        for start in (first, *again):
            assert (folder / f"sigterm-{start['pid']}").exists() and _gone(start["pid"])
        assert list(store.history(trial.trial_id, sweep=spec.name)["iteration"]) == list(
            range(1, trial.iterations + 1))
    assert resumed <= 1

    monkeypatch.chdir(tmp_path)
    confirmed = confirm_sweep(spec.name, top=1, seeds=2, progress="none")
    assert confirmed.exit_code == 0 and confirmed.confirmation is not None
    best = next(t for t in trials if t.status == "completed")
    child = confirmed.outcome
    seen = []
    for trial in store.trials(child.name):
        (start,) = _starts(child, trial.trial_id)
        seen.append(trial.config["seed"])
        assert start["argv"] == ["--epochs", "6", "--pause", "0.3", f"--x={best.config['x']!r}",
                                 f"--seed={trial.config['seed']}"]
    assert sorted(seen) == list(confirmed.confirmation.seeds)  # each fresh seed reached the script as --seed

    extended = extend_sweep(spec.name, samples=1, progress="none")
    assert extended.status == "finished", extended.first_error
    assert len(store.trials(spec.name)) == 5


def test_trials_that_all_end_without_the_metric_fail_the_sweep_fast(tmp_home: Path, tmp_path: Path,
                                                                    ray_session: None) -> None:
    import yaml
    from click.testing import CliRunner

    from hpo.search.cli.main import cli

    spec = {"name": "cmd-silent", "trainable": _command("modes.py"), "metric": "loss", "mode": "min",
            "search": {"algorithm": "random", "num_samples": 2, "seed": 0},
            "scheduler": {"type": "median", "max_t": 2}, "resources": {"cpu": 1, "gpu": 0},
            "params": {"mode": {"type": "choice", "values": ["silent"]}}}
    path = tmp_path / "silent.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    ran = CliRunner().invoke(cli, ["sweep", str(path), "-q"])
    assert ran.exit_code == 1, ran.output
    assert ("hpo: sweep cmd-silent failed fast: all 2 trials failed with hpo.trainables.command.errors."
            "CommandMetricError: python modes.py exited with code 0 without reporting loss (sources read: report "
            "lines) before reporting anything") in ran.output.splitlines()
