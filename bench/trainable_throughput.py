"""Images/s of one training epoch: our trainer vs. the tutorial pipeline and vs. the compute limit.

Part ``pipeline``: tutorial_cnn on the same CIFAR-10-format files (10,000 synthetic images
written to a temp dir):

* baseline: the Ray/PyTorch CIFAR tutorial's pipeline: torchvision's CIFAR10 dataset with
  ``ToTensor()`` + ``Normalize`` (a PIL image per example) and a ``DataLoader``, the loop
  ``zero_grad / forward / loss / backward / step`` with SGD(momentum=0.9);
* ours: the cifar trainable's `Trainer`: the set loaded once into uint8 tensors, batches cut
  from a shuffled index tensor, normalised as a batch (no augmentation, as in the tutorial).

Part ``limit``: each built-in model at batch 128 and 512 on the same in-memory images:

* limit: the same model class and initial weights, the same SGD settings and loss, stepping
  ``zero_grad / forward / loss / backward / step`` over batches normalised and cut once, up
  front (no data path at all: no indexing, no normalising, no metrics, no schedule);
* ours: `Trainer.train_epoch`'s images/s with ``augment: false`` (equal work: the ratio that
  measures our overhead), and as the trainable ships (``augment: true``: crop + flip per batch).

Run: ``.venv/bin/python bench/trainable_throughput.py [--parts pipeline limit] [--threads 2]``
(``--images``, ``--batch-sizes``, ``--repeats`` for the pipeline part; ``--models``, ``--batches``,
``--limit-images``, ``--limit-repeats`` for the limit part). Prints images/s of each (best of
``--repeats`` / ``--limit-repeats`` epochs, the contenders alternated within each repeat) and the
ratios.
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

from hpo.trainables.config import DEFAULTS, TrainConfig
from hpo.trainables.data import load_dataset, make_synthetic, torchvision_class
from hpo.trainables.models import TutorialCNN
from hpo.trainables.training import Trainer, model_for, optimizer_for

# Images per epoch in the limit part, per built-in model: about 0.3 s (tutorial_cnn) and 2 s
# (resnet_small) an epoch on 2 idle cores. Short epochs and many repeats: on a shared machine the
# best of many short windows finds the quiet ones; the part takes about 2.5 minutes.
LIMIT_IMAGES = {"tutorial_cnn": 4_096, "resnet_small": 1_536}
LIMIT_BATCHES = (128, 512)


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
    trainset = torchvision_class("cifar10")(root=str(root), train=True, download=False, transform=transform)
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


class Limit:
    """The compute limit of one trial config: its model, optimiser and loss, and nothing else.

    The images are normalised and cut into contiguous batches once, up front; an epoch is the
    bare ``zero_grad / forward / loss / backward / step`` loop over them.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        num_classes: int,
    ) -> None:
        torch.manual_seed(cfg.seed)  # the Trainer's initial weights
        self.model = model_for(cfg, num_classes=num_classes)
        self.optimizer = optimizer_for(cfg, self.model.parameters())
        self.criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        m, s = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
        xf = (x.float() / 255 - m) / s
        self.batches = [
            (xb.contiguous(), yb.contiguous())
            for xb, yb in zip(xf.split(cfg.batch_size), y.split(cfg.batch_size), strict=True)
        ]

    def epoch(self) -> float:
        """One pass over the batches; returns images/s."""
        self.model.train()
        n = 0
        start = time.perf_counter()
        for x, y in self.batches:
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.criterion(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            n += len(y)
        return n / (time.perf_counter() - start)


def limit_row(model: str, batch_size: int, n_images: int, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` images/s of the limit and of our Trainer (augment off, and on as shipped).

    One process, one set of images; within each repeat the three run one epoch each, the order
    rotated every repeat, so that the machine's noise hits all three alike.
    """
    data = make_synthetic(n_train=n_images, n_test=64, seed=0)
    config = {
        "dataset": "synthetic",
        "model": model,
        "batch_size": batch_size,
        "val_fraction": 0.01,
        "epochs": repeats,
        "seed": 0,
    }
    plain = Trainer({**config, "augment": False}, data, device="cpu")
    shipped = Trainer({**config, "augment": True}, data, device="cpu")
    limit = Limit(plain.cfg, plain.train_x, plain.train_y, mean=data.mean, std=data.std, num_classes=data.num_classes)
    runs = {
        "limit": limit.epoch,
        "ours": lambda: plain.train_epoch()["images_per_s"],
        "shipped": lambda: shipped.train_epoch()["images_per_s"],
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % 3 :] + names[: r % 3]:
            samples[name].append(runs[name]())
    row = {name: max(values) for name, values in samples.items()}
    # The median of the ratios within a repeat: a second view, less sensitive to one lucky epoch.
    paired = sorted(o / lim for o, lim in zip(samples["ours"], samples["limit"], strict=True))
    row["paired"] = paired[len(paired) // 2]
    row["images"] = float(plain.train_x.shape[0])
    return row


def limit_part(models: list[str], batches: list[int], images: int | None, repeats: int) -> None:
    print()
    print(
        "compute limit: the same model, weights, SGD and loss over pre-normalised, pre-cut in-memory batches, "
        f"best of {repeats} epochs"
    )
    knobs = ("optimizer", "lr", "momentum", "weight_decay", "schedule", "label_smoothing")
    print("config: the trainable's defaults (" + ", ".join(f"{k} {DEFAULTS[k]}" for k in knobs) + "), seed 0")
    print(
        "ours = Trainer.train_epoch images/s with augment: false (equal work); "
        "shipped = augment: true (the default: crop + flip)"
    )
    print(
        f"{'model':<13} {'batch':>5} {'images':>7} {'limit img/s':>11} {'ours img/s':>10} {'ratio':>6} "
        f"{'(paired)':>8} {'shipped img/s':>13} {'ratio':>6}"
    )
    for model in models:
        n_images = images or LIMIT_IMAGES.get(model, 2_560)
        for batch_size in batches:
            row = limit_row(model, batch_size, n_images, repeats)
            lim = row["limit"]
            print(
                f"{model:<13} {batch_size:>5} {row['images']:>7.0f} {lim:>11.0f} {row['ours']:>10.0f} "
                f"{row['ours'] / lim:>5.2f}x {row['paired']:>7.2f}x {row['shipped']:>13.0f} "
                f"{row['shipped'] / lim:>5.2f}x",
                flush=True,
            )
    print("(ratio: best ours / best limit over the repeats; paired: the median of the per-repeat ratios)")


def pipeline_part(images: int, batch_sizes: list[int], workers: list[int], repeats: int) -> None:
    print()
    print(
        f"data path: our Trainer vs. the tutorial's DataLoader pipeline, tutorial_cnn, {images} images, "
        f"best of {repeats} epochs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_cifar10(root, images)
        print(f"{'batch':>5} {'ours img/s':>11} {'tutorial img/s':>15} {'(workers)':>9} {'ratio':>6}")
        for batch_size in batch_sizes:
            ours, load_s = 0.0, 0.0
            base, base_workers = 0.0, 0
            for _ in range(repeats):  # interleaved, so load noise hits both alike
                value, load_s = ours_epoch(root, batch_size)
                ours = max(ours, value)
                for n_workers in workers:
                    value = tutorial_epoch(root, batch_size, n_workers)
                    if value > base:
                        base, base_workers = value, n_workers
            print(f"{batch_size:>5} {ours:>11.0f} {base:>15.0f} {base_workers:>9} {ours / base:>5.2f}x", flush=True)
        print(
            f"(ours also loads the set once into uint8 tensors: {load_s:.2f} s for {images} images; "
            "the baseline is the faster of its DataLoader worker settings)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=("pipeline", "limit"), default=["pipeline", "limit"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a trial's CPUs)")
    parser.add_argument("--repeats", type=int, default=3, help="pipeline: epochs per measurement; best is kept")
    parser.add_argument("--images", type=int, default=10_000, help="pipeline: images written to disk")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="pipeline: DataLoader workers to try")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 128], help="pipeline: batch sizes")
    parser.add_argument("--models", nargs="+", default=list(LIMIT_IMAGES), help="limit: models")
    parser.add_argument("--batches", type=int, nargs="+", default=list(LIMIT_BATCHES), help="limit: batch sizes")
    parser.add_argument("--limit-repeats", type=int, default=10, help="limit: epochs per measurement; best is kept")
    parser.add_argument(
        "--limit-images",
        type=int,
        default=None,
        help="limit: images per epoch (default per model: "
        + ", ".join(f"{k} {v}" for k, v in LIMIT_IMAGES.items())
        + ")",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    env = {k: os.environ.get(k, "unset") for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, CPU, "
        f"{len(os.sched_getaffinity(0))} cores usable; torch threads={torch.get_num_threads()} "
        f"(interop {torch.get_num_interop_threads()}), " + ", ".join(f"{k}={v}" for k, v in env.items())
    )
    print(
        "load average at start: {:.2f} {:.2f} {:.2f} (a shared machine: best-of-N damps the noise)".format(
            *os.getloadavg()
        )
    )
    if "pipeline" in args.parts:
        pipeline_part(args.images, args.batch_sizes, args.workers, args.repeats)
    if "limit" in args.parts:
        limit_part(args.models, args.batches, args.limit_images, args.limit_repeats)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
