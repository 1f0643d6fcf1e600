"""`on_oom: halve_batch` in a multi-worker trial of the real CIFAR trainer: a rank's forward pass runs out
of memory, the trainer raises its error, and the trial's driver restarts the workers from the last
checkpoint with the micro-batch halved, down to a floor (on the session's Ray: the sweep ends through
Tune, its only trial errored, so its worker groups and their placement groups are gone before the next
test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo.results import Store

pytestmark = pytest.mark.integration


@pytest.mark.slow(seconds=60)
def test_an_out_of_memory_two_worker_trial_goes_on_with_half_the_micro_batch_down_to_the_floor(
    ray_session: None, tmp_home: Path
) -> None:
    from hpo.search import run_sweep
    from hpo.spaces import parse_spec

    # One trial of the real CIFAR trainer on the synthetic data set, two halvings' worth of memory lost.
    # A batch of 32 is a share of 16 per worker. From epoch 2 the device holds 8: epoch 2's forward
    # pass runs out of memory at 16, and the trial runs again, from epoch 1's checkpoint, at 8. From
    # epoch 3 it holds 4: 8 is already the floor, so that out-of-memory error ends the trial. (One
    # trial with two worker-group starts covers what two trials did with three.)
    spec = parse_spec({
        "name": "oom", "trainable": "toy:oom_cifar", "metric": "val_loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 1}, "scheduler": {"type": "fifo", "max_t": 3},
        "resources": {"workers": 2, "cpu": 1}, "failures": {"on_oom": "halve_batch"},
        "fixed": {"dataset": "synthetic", "subset": 200, "model": "tutorial_cnn", "augment": False,
                  "batch_size": 32, "epochs": 3, "fits": 8, "later": 3, "fits_later": 4,
                  "await_sweep": "oom", "await_home": str(tmp_home)},
    }, source="test")
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "failed"
    assert outcome.counts["error"] == 1
    store = Store.open(home=tmp_home)
    (trial,) = store.trials("oom")
    assert trial.status == "error" and trial.iterations == 2
    history = store.history(trial.trial_id).sort_values("training_iteration")
    # Epoch 1 at each worker's share of the batch (16); epoch 2 ran out of memory and was run
    # again, from epoch 1's checkpoint, at 8: the store holds each epoch once.
    assert list(history["epoch"]) == [1, 2]
    assert list(history["micro_batch_size"]) == [16, 8]
    assert list(history["oom_halvings"]) == [0, 1]
    assert "CUDA out of memory at batch_size=8 on cpu (peak 0.0 GB)" in str(trial.error)
