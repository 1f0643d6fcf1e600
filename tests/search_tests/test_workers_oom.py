"""`on_oom: halve_batch` in a multi-worker trial: its driver restarts the workers from the last
checkpoint with the micro-batch halved, down to a floor (on the session's Ray: the sweep ends
normally, so its worker groups and their placement groups are gone before the next test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from results import Store

pytestmark = pytest.mark.integration


@pytest.mark.slow(seconds=60)
def test_an_out_of_memory_two_worker_trial_goes_on_with_half_the_micro_batch_down_to_the_floor(
    ray_session: None, tmp_home: Path
) -> None:
    from search import run_sweep
    from spaces import parse_spec

    spec = parse_spec({
        "name": "oom", "trainable": "toy:oom_above", "metric": "loss", "mode": "min",
        "search": {"algorithm": "grid", "num_samples": 1}, "scheduler": {"type": "fifo", "max_t": 3},
        "resources": {"workers": 2, "cpu": 1}, "failures": {"on_oom": "halve_batch"},
        # The model fits micro-batches of a quarter of the batch. 64: a share of 32 per worker,
        # which fits once halved to 16. 16: a share of 8, already the floor, so the
        # out-of-memory error ends that trial.
        "params": {"batch_size": {"type": "grid", "values": [64, 16]}},
        "fixed": {"max_iter": 3, "x": 0.3, "await_sweep": "oom", "await_home": str(tmp_home)},
    }, source="test")
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    assert (outcome.counts["completed"], outcome.counts["error"]) == (1, 1)
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
