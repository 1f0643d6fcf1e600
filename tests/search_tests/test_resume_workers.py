"""A 2-worker (data-parallel) trial whose driver is SIGKILLed resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_resume import DRIVER, HERE, _wait_for

from search import resume_sweep

pytestmark = pytest.mark.integration


def test_a_killed_two_worker_trial_resumes_from_its_last_epoch(ray_session: None, tmp_home: Path,
                                                              tmp_path: Path) -> None:
    import time

    import ray

    from results import Store
    from spaces import parse_spec

    # Both CPUs of the session's Ray go to the two workers: wait until an earlier test's killed
    # driver has had its placement groups released, instead of waiting on them forever.
    deadline = time.monotonic() + 120
    while ray.available_resources().get("CPU", 0) < 2:
        if time.monotonic() > deadline:
            pytest.skip(f"the session's Ray still holds CPUs from an earlier test: {ray.available_resources()}")
        time.sleep(1)

    spec = parse_spec({
        "name": "ddp-killed", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": 3},
        "resources": {"workers": 2, "cpu": 1},
        "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1, "log": True}},
        "fixed": {"dataset": "synthetic", "subset": 300, "batch_size": 64, "augment": False},
        # The driver joins this session's Ray instead of starting a second one.
        "cluster": {"address": ray.get_runtime_context().gcs_address},
    })
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(toy_dir=str(HERE)))
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(spec.to_dict()), str(tmp_home)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"})
    store = Store.open(home=tmp_home)

    def first_epoch_checkpointed() -> bool:
        if store.find_sweep("ddp-killed") is None:
            return False
        trials = store.trials("ddp-killed")
        return bool(trials) and trials[0].iterations >= 1 and trials[0].checkpoint_path is not None

    _wait_for(first_epoch_checkpointed, 400, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done_before = store.trials("ddp-killed")[0].iterations

    outcome = resume_sweep("ddp-killed", home=tmp_home, progress="none")
    assert outcome.status == "finished"
    (trial,) = store.trials("ddp-killed")
    assert trial.status == "completed" and trial.iterations == 3
    history = store.history(trial.trial_id)
    assert sorted(history["training_iteration"]) == [1, 2, 3]
    # The epochs after the kill continued from the checkpoint: the trainer's own epoch counter
    # went on from where the checkpoint left it instead of starting over at 1.
    assert list(history.sort_values("training_iteration")["epoch"]) == [1, 2, 3]
    assert done_before >= 1
