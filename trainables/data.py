"""Data sets as uint8 tensors: CIFAR-10/100 via torchvision's files, or seeded synthetic.

A `DataSet` holds the whole train and test sets as ``uint8`` N x 3 x 32 x 32 tensors plus
``int64`` labels. It is loaded once in the driver and shipped to trials through Ray's object
store; each trial then cuts its seeded subset / val split with `split_train_val`.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from hpo.errors import InputError

__all__ = [
    "DataSet",
    "DataUnavailableError",
    "Split",
    "default_data_dir",
    "load_dataset",
    "make_synthetic",
    "split_train_val",
    "torchvision_class",
]

logger = logging.getLogger(__name__)

# Per-channel statistics of the CIFAR train sets (the usual published values).
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
SYNTHETIC_TRAIN = 10_000
SYNTHETIC_TEST = 2_000


class DataUnavailableError(InputError, RuntimeError):
    """A CIFAR data set is neither on disk nor downloadable."""


@dataclass(frozen=True)
class DataSet:
    """A whole data set in memory.

    Attributes:
        name: ``cifar10``, ``cifar100`` or ``synthetic``.
        train_x, train_y, test_x, test_y: uint8 images (N, 3, 32, 32) and int64 labels.
        num_classes: Number of classes.
        mean, std: Per-channel statistics in [0, 1] units, for normalisation on device.
        source: Where it came from (a directory, or ``"memory"``).
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str


@dataclass(frozen=True)
class Split:
    """One trial's data: train and val tensors cut from a `DataSet`'s train set."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor


def default_data_dir() -> Path:
    """``$HPO_DATA_DIR`` if set, else ``~/.cache/hpo/data``."""
    env = os.environ.get("HPO_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hpo" / "data"


def _offline() -> bool:
    return os.environ.get("HPO_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def torchvision_class(name: str) -> type:
    """torchvision's CIFAR class, reading an existing extracted copy as is.

    torchvision checks the md5 of every extracted file before reading; the archive's md5 is
    already checked on download, and a copy a user extracted (or a test wrote) is used as is.
    """
    import pickle

    from torchvision.datasets import CIFAR10, CIFAR100

    base = CIFAR10 if name == "cifar10" else CIFAR100

    class _Files(base):  # type: ignore[misc, valid-type]
        def _check_integrity(self) -> bool:
            folder = Path(self.root) / self.base_folder
            return all((folder / f).is_file() for f, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            path = Path(self.root) / self.base_folder / self.meta["filename"]
            if path.is_file():
                with open(path, "rb") as fh:
                    self.classes = pickle.load(fh, encoding="latin1")[self.meta["key"]]
            else:
                self.classes = [str(i) for i in range(100 if name == "cifar100" else 10)]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    _Files.__name__ = base.__name__
    return _Files


def _load_cifar(name: str, data_dir: Path, download: bool) -> DataSet:
    cls = torchvision_class(name)
    folder = data_dir / _FOLDERS[name]
    present = all((folder / f).is_file() for f, _ in cls.train_list + cls.test_list)
    if not present:
        how = (
            f"download cifar-{name[5:]}-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
            f"and extract it into {data_dir}, or set data_dir"
        )
        if _offline() or not download:
            why = "HPO_OFFLINE=1" if _offline() else "download: false"
            raise DataUnavailableError(f"{name} not found in {folder} and downloads are off ({why}); {how}")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            cls(root=str(data_dir), train=True, download=True)
        except Exception as exc:  # network errors come in many types
            raise DataUnavailableError(f"{name} could not be downloaded into {data_dir} ({exc}); {how}") from exc
    train = cls(root=str(data_dir), train=True, download=False)
    test = cls(root=str(data_dir), train=False, download=False)

    def to_tensor(ds: object) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # HWC -> CHW, uint8
        return x, torch.tensor(ds.targets, dtype=torch.int64)

    train_x, train_y = to_tensor(train)
    test_x, test_y = to_tensor(test)
    mean, std = _STATS[name]
    return DataSet(name, train_x, train_y, test_x, test_y, len(train.classes), mean, std, str(folder))


@functools.lru_cache(maxsize=2)  # deterministic; trials and tests reuse one copy
def make_synthetic(
    *, n_train: int = SYNTHETIC_TRAIN, n_test: int = SYNTHETIC_TEST, num_classes: int = 10, seed: int = 0
) -> DataSet:
    """A CIFAR-shaped, seeded, learnable but not trivial data set, generated in memory.

    Each class is a smooth random colour pattern; an image is its class pattern, shifted by up
    to 4 pixels, blended with a distractor pattern of another class, with a random contrast
    and brightness and pixel noise. A linear model does poorly; a small CNN with a sensible
    learning rate learns it in a couple of epochs, and a bad one visibly does not.
    """
    g = torch.Generator().manual_seed(10_007 + seed)
    base = torch.rand(num_classes, 3, 6, 6, generator=g)
    templates = torch.nn.functional.interpolate(base, size=(40, 40), mode="bicubic", align_corners=False)
    templates = (templates - templates.mean(dim=(1, 2, 3), keepdim=True)) / templates.std(dim=(1, 2, 3), keepdim=True)

    # Every 32x32 window of each 40x40 template (9 x 9 shifts), so drawing is one gather.
    windows = templates.unfold(2, 32, 1).unfold(3, 32, 1)  # (K, 3, 9, 9, 32, 32)
    windows = windows.permute(0, 2, 3, 1, 4, 5).reshape(num_classes, 81, 3, 32, 32)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, num_classes, (n,), generator=g)
        other = (y + torch.randint(1, num_classes, (n,), generator=g)) % num_classes
        shift, shift_other = torch.randint(0, 81, (2, n), generator=g)
        mix = 0.5 + 0.25 * torch.rand(n, 1, 1, 1, generator=g)
        contrast = 40 * (0.5 + torch.rand(n, 1, 1, 1, generator=g))
        bright = 20 * torch.randn(n, 3, 1, 1, generator=g) + 128
        out = torch.empty(n, 3, 32, 32, dtype=torch.uint8)
        for lo in range(0, n, 1024):  # chunks keep the float temporaries small
            sl = slice(lo, lo + 1024)
            img = torch.randn(out[sl].shape, generator=g)
            img.addcmul_(mix[sl], windows[y[sl], shift[sl]])
            img.addcmul_(1 - mix[sl], windows[other[sl], shift_other[sl]].flip(2))
            img.mul_(contrast[sl]).add_(bright[sl]).clamp_(0, 255)
            out[sl] = img.to(torch.uint8)
        return out, y

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    xf = train_x.float() / 255
    mean = tuple(float(v) for v in xf.mean(dim=(0, 2, 3)))
    std = tuple(float(v) for v in xf.std(dim=(0, 2, 3)))
    return DataSet("synthetic", train_x, train_y, test_x, test_y, num_classes, mean, std, "memory")  # type: ignore[arg-type]


def load_dataset(name: str, *, data_dir: str | Path | None = None, download: bool = True) -> DataSet:
    """Load a whole data set into uint8 tensors (call once, in the driver).

    Args:
        name: ``cifar10``, ``cifar100`` or ``synthetic``.
        data_dir: Folder holding (or receiving) ``cifar-10-batches-py`` / ``cifar-100-python``;
            default `default_data_dir`.
        download: Fetch CIFAR when missing; ignored (never downloads) when ``HPO_OFFLINE=1``.

    The synthetic data set always uses seed 0: every trial of a sweep sees the same data,
    whatever training seed it runs with.

    Raises:
        DataUnavailableError: CIFAR is not on disk and cannot be downloaded (one line, with
            how to provide it).
    """
    if name == "synthetic":
        return make_synthetic()
    if name not in _FOLDERS:
        raise ValueError(f"unknown dataset {name!r}: must be cifar10, cifar100 or synthetic")
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return _load_cifar(name, root, download)


def split_train_val(data: DataSet, *, subset: int | None, val_fraction: float, seed: int) -> Split:
    """Seeded subset and train/val split of a data set's train part.

    ``subset`` examples are drawn at random from the train set (all when None); the first
    ``round(val_fraction * subset)`` of them (at least one) become the validation set.
    """
    n = data.train_x.shape[0]
    g = torch.Generator().manual_seed(seed)
    pool = torch.randperm(n, generator=g)[: min(subset, n) if subset else n]
    n_val = max(1, math.floor(val_fraction * len(pool) + 0.5))
    if n_val >= len(pool):
        raise ValueError(f"val_fraction={val_fraction} leaves no training examples out of {len(pool)}")
    val_idx, train_idx = pool[:n_val], pool[n_val:]
    return Split(data.train_x[train_idx], data.train_y[train_idx], data.train_x[val_idx], data.train_y[val_idx])
