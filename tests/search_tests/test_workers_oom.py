"""`on_oom: halve_batch` in a multi-worker trial: its driver restarts the workers from the last
checkpoint with the micro-batch halved, down to a floor, on a local Ray of its own (as the other
DDP tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from results import Store

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def test_an_out_of_memory_two_worker_trial_goes_on_with_half_the_micro_batch_down_to_the_floor(
    tmp_home: Path, tmp_path: Path
) -> None:
    spec = {
        "name": "oom", "trainable": "toy:oom_above", "metric": "loss", "mode": "min",
        "search": {"algorithm": "grid", "num_samples": 1}, "scheduler": {"type": "fifo", "max_t": 3},
        "resources": {"workers": 2, "cpu": 1}, "cluster": {"num_cpus": 2, "num_gpus": 0},
        "failures": {"on_oom": "halve_batch"},
        # The model fits micro-batches of a quarter of the batch. 64: a share of 32 per worker,
        # which fits once halved to 16. 16: a share of 8, already the floor, so the
        # out-of-memory error ends that trial.
        "params": {"batch_size": {"type": "grid", "values": [64, 16]}},
        "fixed": {"max_iter": 3, "x": 0.3, "await_sweep": "oom"},
    }
    path = tmp_path / "oom.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = {**os.environ, "HPO_HOME": str(tmp_home), "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    done = subprocess.run([sys.executable, "-c", "from search.cli import main; main()", "sweep", str(path), "-q"],
                          env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store.open(home=tmp_home)
    by_batch = {t.config["batch_size"]: t for t in store.trials("oom")}
    halved, floored = by_batch[64], by_batch[16]
    assert halved.status == "completed" and halved.iterations == 3
    history = store.history(halved.trial_id).sort_values("training_iteration")
    # Epoch 1 at each worker's share of the batch (32); epoch 2 ran out of memory and was run
    # again, from epoch 1's checkpoint, at 16: the store holds each epoch once.
    assert list(history["epoch"]) == [1, 2, 3]
    assert list(history["micro_batch_size"]) == [32, 16, 16]
    assert list(history["oom_halvings"]) == [0, 1, 1]
    assert floored.status == "error" and floored.iterations == 1
    assert "CUDA out of memory at batch_size=8 on cpu (peak 0.0 GB)" in str(floored.error)
