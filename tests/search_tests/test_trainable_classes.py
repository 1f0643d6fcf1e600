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
import time
from collections import Counter
from pathlib import Path

import pytest

from search import resume_sweep, run_sweep
from search.trainable_glue import checkpoint_frequency_for, reuse_actors_for

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


def _await_snapshots(experiment: Path, *, count: int, proc: subprocess.Popen[str]) -> None:
    """Wait until Tune has written its experiment state ``count`` more times (every 1 s here).

    The state a resume reads must name the interrupted trial's checkpoints; on a loaded machine
    a fixed wait can end before the next snapshot is on disk.
    """
    def stamp() -> tuple[int, ...]:
        return tuple(sorted(p.stat().st_mtime_ns for p in experiment.glob("experiment_state*.json")))

    seen, changes = stamp(), 0
    deadline = time.monotonic() + 60
    while changes < count:
        assert proc.poll() is None and time.monotonic() < deadline, "Tune stopped writing its experiment state"
        time.sleep(0.1)
        now = stamp()
        if now != seen:
            seen, changes = now, changes + 1


DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {toy_dir!r})
    from spaces import parse_spec
    from search import run_sweep

    run_sweep(parse_spec(json.loads(sys.argv[1])), home=sys.argv[2], progress="plain")
    """
)


@pytest.mark.integration
def test_a_checkpointing_class_resumes_from_its_checkpoints_after_a_kill(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec
) -> None:
    import ray

    from results import Store

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

    def one_done_and_one_well_under_way() -> bool:
        if store.find_sweep("cls-killed") is None:
            return False
        trials = store.trials("cls-killed")
        return any(t.status == "completed" for t in trials) and any(
            t.status == "running" and t.iterations >= 2 for t in trials
        )

    deadline = time.monotonic() + 120
    while not one_done_and_one_well_under_way():
        if proc.poll() is not None:
            pytest.fail(f"driver exited early ({proc.returncode}):\n{proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out waiting for the sweep to make progress")
        time.sleep(0.2)
    _await_snapshots(tmp_home / "ray" / "cls-killed", count=2, proc=proc)
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
