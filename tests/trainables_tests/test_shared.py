"""A value trials share through the object store: one copy, read by name, freed with its scope."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
from harness import wait_for

from hpo.trainables.shared import SharedData, SharedScope

pytestmark = pytest.mark.integration


def plasma_objects() -> int:
    """Objects in this Ray's object store (what `ray memory --stats-only` prints)."""
    from hpo.search.ray_compat.cluster import object_store_objects

    return object_store_objects()


def settled_objects() -> int:
    """The object count once what earlier tests let go is gone (unchanged over a second)."""
    count = plasma_objects()
    for _ in range(30):
        time.sleep(1.0)
        count, last = plasma_objects(), count
        if count == last:
            return count
    raise AssertionError("the object store never settled")


def test_trials_read_the_one_copy_by_name_and_the_scope_frees_it(ray_session: None) -> None:
    import ray

    before = settled_objects()
    scope = SharedScope()
    value = np.arange(300_000, dtype=np.uint8)
    with scope.collect():
        shared = SharedData(value)
    assert plasma_objects() == before + 1
    # Only the holder's name travels with the trainable: pickling it pins nothing.
    assert pickle.loads(pickle.dumps(shared)).__dict__ == {"name": shared.name, "_handle": None}

    @ray.remote(num_cpus=0)
    def read(item: SharedData) -> tuple[int, int]:
        got = item.get()
        return int(got.sum()), int(got.size)

    assert ray.get([read.remote(shared) for _ in range(2)]) == [(int(value.sum()), value.size)] * 2
    assert plasma_objects() == before + 1  # two readers, one copy
    scope.release()
    wait_for(lambda: plasma_objects() == before, timeout=30,
             what=lambda: f"the shared object to leave with its scope ({plasma_objects()} objects, {before} before)")
    with pytest.raises(ValueError):
        ray.get_actor(shared.name)


def test_a_cifar_sweep_leaves_the_object_store_as_it_found_it(ray_session: None, tmp_home) -> None:
    from hpo.search import run_sweep
    from hpo.spaces import parse_spec

    before = settled_objects()
    spec = parse_spec({
        "name": "shared", "trainable": "cifar", "metric": "val_acc", "mode": "max",
        "search": {"algorithm": "random", "num_samples": 2, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 1},
        "resources": {"cpu": 1}, "params": {"lr": {"type": "float", "low": 0.01, "high": 0.1}},
        "fixed": {"dataset": "synthetic", "subset": 200, "epochs": 1}}, source="test")
    outcome = run_sweep(spec, progress="none")
    assert {k: n for k, n in outcome.counts.items() if n} == {"completed": 2}
    wait_for(lambda: plasma_objects() == before, timeout=30,
             what=lambda: f"the sweep's data set to leave the store ({plasma_objects()} objects, {before} before)")
