"""A 2-worker (data-parallel, gloo) trial through the CLI: SIGKILLed, resumed from its checkpoint,
finished, with all-reduced metrics.

Driver and resume run in subprocesses, each on its own local Ray (the resume's reaps what the
killed driver left, by recorded pid): Ray Train's worker groups live in placement groups, and a
killed driver's must not starve the test session's Ray.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from results import Store

pytestmark = pytest.mark.integration

SPEC = {
    "name": "ddp-killed", "trainable": "cifar", "metric": "val_loss", "mode": "min",
    "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
    "scheduler": {"type": "fifo", "max_t": 3},
    "resources": {"workers": 2, "cpu": 1},
    "cluster": {"num_cpus": 2, "num_gpus": 0},
    "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1, "log": True}},
    "fixed": {"dataset": "synthetic", "subset": 300, "batch_size": 64, "augment": False},
}
HPO = [sys.executable, "-c", "from search.cli import main; main()"]


def test_a_killed_two_worker_trial_resumes_from_its_last_epoch_and_reports_all_reduced_metrics(
    tmp_home: Path, tmp_path: Path
) -> None:
    from trainables import evaluate_checkpoint

    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    env = {**os.environ, "HPO_HOME": str(tmp_home), "TUNE_GLOBAL_CHECKPOINT_S": "1"}
    proc = subprocess.Popen([*HPO, "sweep", str(path), "-q"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 400
        while True:
            assert proc.poll() is None, f"the sweep ended before it was killed (exit {proc.returncode})"
            assert time.monotonic() < deadline, "the 2-worker trial never checkpointed an epoch"
            store = Store.open(home=tmp_home, create=False) if (tmp_home / "store.sqlite").exists() else None
            trials = store.trials("ddp-killed") if store is not None and store.find_sweep("ddp-killed") else []
            if trials and trials[0].iterations >= 1 and trials[0].checkpoint_path is not None:
                break
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    done = subprocess.run([*HPO, "resume", "ddp-killed", "-q"], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store.open(home=tmp_home)
    (trial,) = store.trials("ddp-killed")
    assert trial.status == "completed" and trial.iterations == 3
    history = store.history(trial.trial_id).sort_values("training_iteration")
    assert list(history["training_iteration"]) == [1, 2, 3]
    # The epochs after the kill continued from the checkpoint: the trainer's own epoch counter
    # went on from where the checkpoint left it instead of starting over at 1.
    assert list(history["epoch"]) == [1, 2, 3]
    # Each rank scored half of the val split; the sums were all-reduced. Scoring rank 0's
    # checkpoint on the whole split in one process must give the reported figures.
    best = store.best("ddp-killed")
    assert best is not None and best.checkpoint_path
    scored = evaluate_checkpoint(best.checkpoint_path, split="val")
    reported = best.last_result
    assert scored["epoch"] == 3
    assert scored["loss"] == pytest.approx(reported["val_loss"], rel=1e-5)
    assert scored["acc"] == pytest.approx(reported["val_acc"], abs=1e-9)
    assert reported["images_per_s"] > 0
