"""``ray.tune.Trainable`` classes run unchanged, with more trials than slots (2 CPUs, 1-CPU trials).

A class without ``reset_config`` gets a fresh actor per trial (actor reuse hung such sweeps);
one that overrides it is reused; one that saves checkpoints resumes from them after a kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from harness import wait_for

from hpo.search import resume_sweep, run_sweep
from hpo.search.engine.trainable_glue import checkpoint_frequency_for, reuse_actors_for
from hpo.search.ray_compat.tune_state import experiment_state_files, read_saved_trials

HERE = Path(__file__).parent


def _events(out_dir: Path) -> list[tuple[str, int, str, int]]:
    rows = []
    for line in (out_dir / "events.txt").read_text().splitlines():
        trial_id, pid, event, t = line.split()
        rows.append((trial_id, int(pid), event, int(t)))
    return rows


def test_actors_are_reused_only_for_functions_and_classes_with_reset_config() -> None:
    import toy
    from ray.tune.utils.mock_trainable import MyTrainableClass

    assert reuse_actors_for(toy.quadratic) is True
    assert reuse_actors_for(toy.ResettableQuadraticClass) is True
    assert reuse_actors_for(toy.QuadraticClass) is False
    assert reuse_actors_for(MyTrainableClass) is False
    assert reuse_actors_for(dict) is False  # a class that is no Trainable


def test_classes_that_save_checkpoints_are_checkpointed_every_iteration() -> None:
    import toy
    from ray import tune

    class NoCheckpoints(tune.Trainable):
        def step(self) -> dict[str, float]:
            return {"loss": 0.0}

    assert checkpoint_frequency_for(toy.QuadraticClass) == 1
    assert checkpoint_frequency_for(NoCheckpoints) == 0
    assert checkpoint_frequency_for(toy.quadratic) == 0  # Tune refuses a frequency for functions


@pytest.mark.integration
@pytest.mark.parametrize(
    ("trainable", "scheduler"),
    [
        ("toy:QuadraticClass", "fifo"),
        ("toy:ResettableQuadraticClass", "asha"),
        ("toy:QuadraticClass", "hyperband"),
        ("toy:ResettableQuadraticClass", "hyperband"),
    ],
)
def test_a_trainable_class_with_more_trials_than_slots_finishes(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec, trainable: str, scheduler: str
) -> None:
    spec = make_spec(
        name=f"cls-{scheduler}",
        trainable=trainable,
        scheduler={"type": scheduler, "max_t": 4, "grace_period": 1, "reduction_factor": 2},
        search={"algorithm": "random", "num_samples": 4, "seed": 0},
        fixed={"out_dir": str(tmp_path)},
    )
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished", outcome.first_error
    assert outcome.counts["error"] == 0 and sum(outcome.counts.values()) == 4
    if scheduler == "fifo":
        assert outcome.counts["completed"] == 4
    events = _events(tmp_path)
    pids_by_trial = {trial: {pid for trial2, pid, _, _ in events if trial2 == trial} for trial, *_ in events}
    assert len(pids_by_trial) == 4
    resets = [e for e in events if e[2] == "reset"]
    if trainable.endswith("ResettableQuadraticClass"):
        # Some trial ran on an actor a finished trial left behind.
        assert resets and len({pid for _, pid, _, _ in events}) < 4
    else:
        assert not resets
        assert Counter(e[2] for e in events)["setup"] >= 4  # a fresh actor per trial (HyperBand: per resume)
        assert all(not (a & b) for a in pids_by_trial.values() for b in pids_by_trial.values() if a is not b)


def _snapshot_with_a_trial_mid_run(experiment: Path) -> bool:
    """True when Tune's newest experiment state (the file a resume restores from) holds a finished
    trial and a running one at iteration 2 to 6 of 10: that trial has checkpointed, and it
    still has 2 s of steps to run, so a kill now finds it unfinished in every later snapshot too.

    The store says nothing about Tune's snapshot: waiting on the store's rows (and then a fixed
    number of snapshots) let the kill land where the running trials had no checkpoint yet.
    """
    files = experiment_state_files(experiment)
    if not files:
        return False
    try:
        trials = read_saved_trials(files[-1])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # mid-write
    statuses = [t.status for t in trials]
    mid_run = [t.last_result.get("training_iteration", 0) for t in trials if t.status == "RUNNING"]
    return "TERMINATED" in statuses and any(2 <= i <= 6 for i in mid_run)


DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {toy_dir!r})
    from hpo.spaces import parse_spec
    from hpo.search import run_sweep

    run_sweep(parse_spec(json.loads(sys.argv[1])), home=sys.argv[2], progress="plain")
    """
)


@pytest.mark.slow
@pytest.mark.integration
def test_a_checkpointing_class_resumes_from_its_checkpoints_after_a_kill(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec
) -> None:
    import ray

    from hpo.results import Store

    spec = make_spec(
        name="cls-killed",
        trainable="toy:QuadraticClass",
        scheduler={"type": "fifo", "max_t": 10},
        search={"algorithm": "random", "num_samples": 4, "seed": 0},
        fixed={"sleep": 0.5, "out_dir": str(tmp_path)},
        cluster={"address": ray.get_runtime_context().gcs_address},  # join this session's Ray
    )
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(toy_dir=str(HERE)))
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(spec.to_dict()), str(tmp_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"},
    )
    store = Store.open(home=tmp_home)

    wait_for(lambda: _snapshot_with_a_trial_mid_run(tmp_home / "ray" / "cls-killed"), timeout=120, every=0.1,
             proc=proc, what="Tune to snapshot a trial mid-run")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)

    outcome = resume_sweep("cls-killed", home=tmp_home, progress="none")
    assert outcome.status == "finished", outcome.first_error
    trials = store.trials("cls-killed")
    assert len(trials) == 4 and all(t.status == "completed" and t.iterations == 10 for t in trials)
    for t in trials:
        assert sorted(store.history(t.trial_id)["training_iteration"]) == list(range(1, 11)), t.trial_id
    # The interrupted trial went on from its saved t (load_checkpoint), not from the start.
    restored = [e for e in _events(tmp_path) if e[2] == "restored"]
    assert restored and all(t >= 1 for *_, t in restored)
    for trial_id, *_ in restored:
        steps = [s for tid, _, ev, s in _events(tmp_path) if tid == trial_id and ev == "step"]
        assert steps.count(1) == 1, (trial_id, steps)
