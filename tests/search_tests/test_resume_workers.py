"""A 2-worker (data-parallel, gloo) trial: its driver SIGKILLed, the sweep resumed from the trial's
checkpoint and finished, with all-reduced metrics.

The driver runs in a subprocess that joins the session's Ray, so the kill takes only the driver:
Ray ends a dead driver's actors, the Tune trial, its Ray Train controller and workers, and drops
their placement groups with the job, as it would on a cluster. The resume runs in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import start_hpo, wait_for

from hpo.results import Store

pytestmark = pytest.mark.integration

# The CIFAR trainable, held after epoch 1 until the test opens its gate: the kill comes mid-trial
# however fast the epochs run.
SPEC = {
    "name": "ddp-killed", "trainable": "toy:gated_cifar", "metric": "val_loss", "mode": "min",
    "search": {"algorithm": "random", "num_samples": 1, "seed": 0},
    "scheduler": {"type": "fifo", "max_t": 3},
    "resources": {"workers": 2, "cpu": 1},
    "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1, "log": True}},
    "fixed": {"dataset": "synthetic", "subset": 300, "batch_size": 64, "augment": False, "epochs": 3},
}


@pytest.mark.slow(seconds=60)
def test_a_killed_two_worker_trial_resumes_from_its_last_epoch_and_reports_all_reduced_metrics(
    ray_session: None, tmp_home: Path, tmp_path: Path
) -> None:
    import ray

    from hpo.search import resume_sweep
    from hpo.trainables import evaluate_checkpoint

    path = tmp_path / "ddp.yaml"
    gate = tmp_path / "gate"
    spec = {**SPEC, "fixed": {**SPEC["fixed"], "gate": str(gate)}}
    path.write_text(yaml.safe_dump({**spec, "cluster": {"address": ray.get_runtime_context().gcs_address}}))
    path_entries = [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "HPO_HOME": str(tmp_home), "TUNE_GLOBAL_CHECKPOINT_S": "1",
           "PYTHONPATH": os.pathsep.join(path_entries)}  # the CLI imports toy
    proc = start_hpo("sweep", str(path), "-q", cwd=Path.cwd(), env=env, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)

    def checkpointed() -> list[Any]:
        store = Store.open(home=tmp_home, create=False) if (tmp_home / "store.sqlite").exists() else None
        trials = store.trials("ddp-killed") if store is not None and store.find_sweep("ddp-killed") else []
        return trials if trials and trials[0].iterations >= 1 and trials[0].checkpoint_path is not None else []

    try:
        trials = wait_for(checkpointed, timeout=400, every=1, proc=proc,
                          what="the 2-worker trial to checkpoint an epoch (before the sweep was killed)")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert trials[0].iterations == 1  # held at the gate: killed mid-trial
    gate.touch()
    assert resume_sweep("ddp-killed", home=tmp_home, progress="none").status == "finished"
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
