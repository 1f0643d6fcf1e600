"""A sweep of 2-worker (data-parallel, gloo) cifar trials through the CLI, on its own local Ray.

The sweep runs in a subprocess with a private Ray instance, not the test session's: Ray Train's
worker groups live in placement groups, and a leftover one must not starve later tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration


def test_two_worker_sweep_finishes_and_reports_all_reduced_metrics(tmp_home: Path, tmp_path: Path) -> None:
    from results import Store
    from trainables import evaluate_checkpoint

    spec = {
        "name": "ddp", "trainable": "cifar", "metric": "val_loss", "mode": "min",
        # One trial: test_workers_oom runs a sweep of two 2-worker trials through the CLI.
        "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
        "scheduler": {"type": "fifo", "max_t": 2},
        "resources": {"workers": 2, "cpu": 1},
        "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1, "log": True}},
        "fixed": {"dataset": "synthetic", "subset": 300, "batch_size": 64, "augment": False},
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = {**os.environ, "HPO_HOME": str(tmp_home)}
    done = subprocess.run([sys.executable, "-c", "from search.cli import main; main()", "sweep", str(path), "-q"],
                          env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store.open(home=tmp_home)
    trials = store.trials("ddp")
    assert len(trials) == 1 and all(t.status == "completed" and t.iterations == 2 for t in trials)
    best = store.best("ddp")
    assert best is not None and best.checkpoint_path
    # Each rank scored half of the val split; the sums were all-reduced. Scoring rank 0's
    # checkpoint on the whole split in one process must give the reported figures.
    scored = evaluate_checkpoint(best.checkpoint_path, split="val")
    reported = best.last_result
    assert scored["epoch"] == 2
    assert scored["loss"] == pytest.approx(reported["val_loss"], rel=1e-5)
    assert scored["acc"] == pytest.approx(reported["val_acc"], abs=1e-9)
    assert reported["images_per_s"] > 0
