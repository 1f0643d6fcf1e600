"""Images/s of one training epoch of tutorial_cnn: our tensor data path vs. the tutorial pipeline.

Both read the same CIFAR-10-format files (10,000 synthetic images written to a temp dir):

* baseline: the Ray/PyTorch CIFAR tutorial's pipeline: torchvision's CIFAR10 dataset with
  ``ToTensor()`` + ``Normalize`` (a PIL image per example) and a ``DataLoader``, the loop
  ``zero_grad / forward / loss / backward / step`` with SGD(momentum=0.9);
* ours: the cifar trainable's `Trainer`: the set loaded once into uint8 tensors, batches cut
  from a shuffled index tensor, normalised as a batch (no augmentation, as in the tutorial).

Run: ``.venv/bin/python bench/trainable_throughput.py [--images 10000] [--threads 2]``.
Prints images/s of each at batch 16 and 128 (best of ``--repeats`` epochs) and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainables.data import _torchvision_class, load_dataset, make_synthetic
from trainables.models import TutorialCNN
from trainables.training import Trainer


def write_cifar10(root: Path, n_images: int) -> None:
    """Write ``n_images`` synthetic images as a real ``cifar-10-batches-py`` folder."""
    data = make_synthetic(n_train=n_images, n_test=1000, seed=0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rows = data.train_x.reshape(n_images, 3072).numpy()
    labels = data.train_y.tolist()
    for i, chunk in enumerate(np.array_split(np.arange(n_images), 5), start=1):
        entry = {"batch_label": f"training batch {i} of 5", "labels": [labels[j] for j in chunk], "data": rows[chunk]}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(entry))
    test = {"labels": data.test_y.tolist(), "data": data.test_x.reshape(-1, 3072).numpy()}
    (folder / "test_batch").write_bytes(pickle.dumps(test))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(10)]}))


def tutorial_epoch(root: Path, batch_size: int, workers: int) -> float:
    """One epoch of the tutorial pipeline; returns images/s (time includes the loader)."""
    import torchvision.transforms as transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))]
    )
    # torchvision's CIFAR10 (md5 check of the files relaxed: these are not the real images).
    trainset = _torchvision_class("cifar10")(root=str(root), train=True, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(
        trainset, batch_size=batch_size, shuffle=True, num_workers=workers, persistent_workers=False
    )
    torch.manual_seed(0)
    net = TutorialCNN(l1=120, l2=84)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    n = 0
    start = time.perf_counter()
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        n += len(labels)
    return n / (time.perf_counter() - start)


def ours_epoch(root: Path, batch_size: int) -> tuple[float, float]:
    """One epoch of the cifar trainable's loop; returns (images/s, one-off load seconds)."""
    start = time.perf_counter()
    data = load_dataset("cifar10", data_dir=root, download=False)
    load_s = time.perf_counter() - start
    config = {
        "dataset": "cifar10",
        "model": "tutorial_cnn",
        "batch_size": batch_size,
        "augment": False,
        "val_fraction": 0.01,
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "epochs": 1,
    }
    trainer = Trainer(config, data, device="cpu")
    return trainer.train_epoch()["images_per_s"], load_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a trial's CPUs)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers to try")
    parser.add_argument("--repeats", type=int, default=3, help="epochs per measurement; best is kept")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 128])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads={args.threads}, "
        f"{args.images} images, best of {args.repeats} epochs, CPU"
    )
    print(
        "load average at start: {:.2f} {:.2f} {:.2f} (a shared machine: best-of-N damps the noise)".format(
            *os.getloadavg()
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_cifar10(root, args.images)
        print(f"{'batch':>5} {'ours img/s':>11} {'tutorial img/s':>15} {'(workers)':>9} {'ratio':>6}")
        for batch_size in args.batch_sizes:
            ours, load_s = 0.0, 0.0
            base, base_workers = 0.0, 0
            for _ in range(args.repeats):  # interleaved, so load noise hits both alike
                value, load_s = ours_epoch(root, batch_size)
                ours = max(ours, value)
                for workers in args.workers:
                    value = tutorial_epoch(root, batch_size, workers)
                    if value > base:
                        base, base_workers = value, workers
            print(f"{batch_size:>5} {ours:>11.0f} {base:>15.0f} {base_workers:>9} {ours / base:>5.2f}x")
        print(
            f"(ours also loads the set once into uint8 tensors: {load_s:.2f} s for {args.images} images; "
            "the baseline is the faster of its DataLoader worker settings)"
        )
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
