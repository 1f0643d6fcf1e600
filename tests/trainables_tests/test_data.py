from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from hpo.trainables.data import DataUnavailableError, load_dataset, make_synthetic, split_train_val


def test_cifar10_loads_through_torchvision_files(cifar_root: Path) -> None:
    data = load_dataset("cifar10", data_dir=cifar_root, download=False)
    assert data.name == "cifar10" and data.num_classes == 10
    assert data.train_x.shape == (100, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (30, 3, 32, 32)
    assert data.train_y.dtype == torch.int64 and data.train_y.shape == (100,)
    # The writer put label * 20 into each image's first red pixel: images and labels stay paired.
    assert torch.equal(data.train_x[:, 0, 0, 0].long(), data.train_y * 20)
    assert torch.equal(data.test_x[:, 0, 0, 0].long(), data.test_y * 20)
    assert data.source == str(cifar_root / "cifar-10-batches-py")


def test_cifar10_matches_torchvision_reference(cifar_root: Path) -> None:
    from hpo.trainables.data import torchvision_class

    ref = torchvision_class("cifar10")(root=str(cifar_root), train=True, download=False)
    data = load_dataset("cifar10", data_dir=cifar_root, download=False)
    img, label = ref[17]  # PIL image, HWC
    assert torch.equal(data.train_x[17], torch.from_numpy(np.array(img)).permute(2, 0, 1))
    assert int(data.train_y[17]) == label
    assert ref.classes[0] == "airplane"


def test_cifar100_loads(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, n in (("train", 40), ("test", 10)):
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "fine_labels": list(range(n))}
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)]}))
    data = load_dataset("cifar100", data_dir=tmp_path, download=False)
    assert data.num_classes == 100
    assert data.train_x.shape == (40, 3, 32, 32) and data.train_y.tolist() == list(range(40))


def test_missing_cifar_offline_says_how_to_provide_it(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=True)  # HPO_OFFLINE=1 wins over download
    assert str(info.value) == (
        f"cifar10 not found in {tmp_path / 'cifar-10-batches-py'} and downloads are off (HPO_OFFLINE=1); "
        "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
        f"and extract it into {tmp_path}, or set data_dir"
    )


def test_missing_cifar_download_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HPO_OFFLINE")
    with pytest.raises(DataUnavailableError, match=r"downloads are off \(download: false\)"):
        load_dataset("cifar100", data_dir=tmp_path, download=False)


def test_download_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.cifar as tv_cifar

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.delenv("HPO_OFFLINE")
    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", no_network)
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("cifar10", data_dir=tmp_path / "d", download=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cifar10 could not be downloaded into {tmp_path / 'd'} (network unreachable); ")


def test_default_data_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hpo.trainables.data import default_data_dir

    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("HPO_DATA_DIR")
    assert default_data_dir() == Path.home() / ".cache" / "hpo" / "data"


def test_seeded_split_is_disjoint_and_reproducible(cifar_root: Path) -> None:
    data = load_dataset("cifar10", data_dir=cifar_root, download=False)
    a = split_train_val(data, subset=None, val_fraction=0.2, seed=3)
    b = split_train_val(data, subset=None, val_fraction=0.2, seed=3)
    c = split_train_val(data, subset=None, val_fraction=0.2, seed=4)
    assert a.train_x.shape[0] == 80 and a.val_x.shape[0] == 20
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)
    assert not torch.equal(a.val_x, c.val_x)
    # Disjoint, and together the whole train set (rows are distinct random images).
    rows = {bytes(x.numpy()) for x in torch.cat([a.train_x, a.val_x])}
    assert len(rows) == 100
    assert torch.equal(a.val_x[:, 0, 0, 0].long(), a.val_y * 20)


def test_subset_draws_before_the_split(cifar_root: Path) -> None:
    data = load_dataset("cifar10", data_dir=cifar_root, download=False)
    s = split_train_val(data, subset=50, val_fraction=0.1, seed=0)
    assert (s.train_x.shape[0], s.val_x.shape[0]) == (45, 5)
    with pytest.raises(ValueError) as info:
        split_train_val(data, subset=2, val_fraction=0.9, seed=0)
    assert str(info.value) == "val_fraction=0.9 leaves no training examples out of 2"


def test_synthetic_is_seeded_cifar_shaped() -> None:
    a = make_synthetic(n_train=200, n_test=50, seed=0)
    b = make_synthetic(n_train=200, n_test=50, seed=0)
    c = make_synthetic(n_train=200, n_test=50, seed=1)
    assert a.train_x.shape == (200, 3, 32, 32) and a.train_x.dtype == torch.uint8
    assert a.num_classes == 10 and set(a.train_y.tolist()) == set(range(10))
    assert torch.equal(a.train_x, b.train_x) and not torch.equal(a.train_x, c.train_x)
    assert 0.3 < a.mean[0] < 0.7 and 0.1 < a.std[0] < 0.35
    assert load_dataset("synthetic").train_x.shape == (10_000, 3, 32, 32)
