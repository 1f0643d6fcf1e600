"""Fixtures for the trainables tests: tiny CIFAR-format data on disk, a small synthetic set."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest


def write_cifar10(root: Path, *, per_batch: int = 20, n_test: int = 30, seed: int = 0) -> Path:
    """Write a tiny CIFAR-10 in the real on-disk format (``cifar-10-batches-py``).

    Each image encodes its label in its first pixel's red value (``label * 20``) so tests can
    check that images and labels stay paired through loading and splitting.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def batch(n: int, name: str, offset: int) -> dict[str, object]:
        labels = [int(v) for v in rng.integers(0, 10, n)]
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        data[:, 0] = np.array(labels, dtype=np.uint8) * 20
        names = [f"img_{offset + i}.png".encode() for i in range(n)]
        return {"batch_label": name.encode(), "labels": labels, "data": data, "filenames": names}

    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "wb") as fh:
            pickle.dump(batch(per_batch, f"training batch {i} of 5", i * 1000), fh)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump(batch(n_test, "testing batch 1 of 1", 0), fh)
    meta = {
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "num_cases_per_batch": per_batch,
        "num_vis": 3072,
    }
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh)
    return root


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """A data_dir holding a tiny CIFAR-10 (5 x 20 train images, 30 test images)."""
    return write_cifar10(tmp_path / "data")


@pytest.fixture(scope="session")
def small_data():  # -> trainables.data.DataSet
    """A small synthetic data set (1,200 train / 300 test) shared by the loop tests."""
    from hpo.trainables.data import make_synthetic

    return make_synthetic(n_train=1200, n_test=300)
