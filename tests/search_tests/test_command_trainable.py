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
    return parse_spec({**base, **over}, source="test")


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
