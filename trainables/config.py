"""The CIFAR trainable's config keys: defaults, parsing and validation (no torch import).

Every key can be searched in a spec's ``params`` or set in ``fixed``; unknown keys fail fast
so that a misspelt hyperparameter never silently runs with its default.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hpo.errors import InputError
from hpo.trainables.contract import ConfigKey, Contract

__all__ = ["CIFAR_CONTRACT", "DEFAULTS", "KEYS", "METRICS", "ConfigError", "TrainConfig", "parse_config"]

# Every knob in one place (airbench / nanoGPT style); units and reasons in the comments.
DEFAULTS: dict[str, Any] = {
    "dataset": "synthetic",  # cifar10 | cifar100 | synthetic (offline, seeded, in memory)
    "data_dir": None,  # None -> $HPO_DATA_DIR or ~/.cache/hpo/data
    "download": True,  # fetch cifar10/100 when missing (never when HPO_OFFLINE=1)
    "subset": None,  # train examples drawn (before the val split); None = all
    "val_fraction": 0.1,  # seeded share of the drawn train examples held out for val_*
    "augment": True,  # random crop (pad 4) + horizontal flip, on tensors
    "model": "tutorial_cnn",  # tutorial_cnn | resnet_small | torchvision:<name>
    "l1": 120,  # tutorial_cnn: first hidden layer width
    "l2": 84,  # tutorial_cnn: second hidden layer width
    "width": 32,  # resnet_small: channels of the first stage (then 2x, 4x)
    "depth": 1,  # resnet_small: residual blocks per stage (0 = plain conv stages)
    "dropout": 0.0,  # dropout before the classifier (tutorial_cnn, resnet_small)
    "weights": None,  # torchvision:<name>: local state-dict path; nothing is downloaded
    "optimizer": "sgd",  # "sgd" | "adamw" | {name: sgd, momentum, nesterov} | {name: adamw, weight_decay}
    "lr": 0.01,  # peak learning rate
    "momentum": 0.9,  # sgd momentum (adamw: beta1)
    "nesterov": False,  # sgd only
    "weight_decay": 5e-4,  # decoupled for adamw, L2 for sgd
    "schedule": "constant",  # constant | cosine | onecycle, over `epochs` epochs
    "label_smoothing": 0.0,  # cross-entropy label smoothing
    "batch_size": 128,  # global batch: split over a trial's workers; OOM halving keeps it via accumulation
    "epochs": None,  # None -> the sweep's max epochs (scheduler.max_t), else 10
    "precision": "fp32",  # fp32 | bf16 | fp16 (autocast on GPU only; CPU runs fp32)
    "channels_last": True,  # memory format on GPU only
    "seed": None,  # None -> the sweep's search seed, else 0
}

DATASETS = ("cifar10", "cifar100", "synthetic")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16", "fp16")
ON_OOM = ("fail", "halve_batch")


# The type and range of every key: `parse_config` enforces them per trial, and the sweep checks a
# spec's `fixed` and `params` against them before Ray starts (the cifar trainable's contract).
# mutable=False: the checkpoint fixes it (model shape, data, optimiser type, precision), so PBT
# may not change it; every other key is applied anew when a trial resumes from another's checkpoint.
_LR = ConfigKey("float", low=0.0)
_MOMENTUM = ConfigKey("float", low=0.0, high=1.0)
_NESTEROV = ConfigKey("bool")
_WEIGHT_DECAY = ConfigKey("float", low=0.0)
KEYS: dict[str, ConfigKey] = {
    "dataset": ConfigKey("choice", choices=DATASETS, mutable=False),
    "data_dir": ConfigKey("str", nullable=True, mutable=False),
    "download": ConfigKey("bool", mutable=False),
    "subset": ConfigKey("int", low=2, nullable=True, mutable=False),
    "val_fraction": ConfigKey("float", low=0.01, high=0.9, mutable=False),
    "augment": ConfigKey("bool"),
    "model": ConfigKey("str", mutable=False),
    "l1": ConfigKey("int", low=1, mutable=False),
    "l2": ConfigKey("int", low=1, mutable=False),
    "width": ConfigKey("int", low=1, mutable=False),
    "depth": ConfigKey("int", low=0, mutable=False),
    "dropout": ConfigKey("float", low=0.0, high=0.95),
    "weights": ConfigKey("str", nullable=True, mutable=False),
    "optimizer": ConfigKey("choice", choices=OPTIMIZERS, groups={
        "sgd": {"lr": _LR, "momentum": _MOMENTUM, "nesterov": _NESTEROV, "weight_decay": _WEIGHT_DECAY},
        "adamw": {"lr": _LR, "momentum": _MOMENTUM, "weight_decay": _WEIGHT_DECAY},
    }, mutable=False),
    "lr": _LR,
    "momentum": _MOMENTUM,
    "nesterov": _NESTEROV,
    "weight_decay": _WEIGHT_DECAY,
    "schedule": ConfigKey("choice", choices=SCHEDULES),
    "label_smoothing": ConfigKey("float", low=0.0, high=1.0),
    "batch_size": ConfigKey("int", low=1),
    "epochs": ConfigKey("int", low=1, nullable=True, mutable=False),
    "precision": ConfigKey("choice", choices=PRECISIONS, mutable=False),
    "channels_last": ConfigKey("bool", mutable=False),
    "seed": ConfigKey("int", nullable=True, mutable=False),
}
_OPTIMIZER_GROUP_KEYS = {name: set(group) for name, group in (KEYS["optimizer"].groups or {}).items()}

# What every epoch's result holds (gpu_mem_peak_mb on a GPU only).
METRICS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "epoch_time_s", "images_per_s", "lr",
           "batch_size", "micro_batch_size", "oom_halvings", "gpu_mem_peak_mb")

CIFAR_CONTRACT = Contract(config=KEYS, metrics=METRICS, multi_worker=True, checkpoints=True)


class ConfigError(InputError):
    """A trial config key of the CIFAR trainable has a bad name or value."""


@dataclass(frozen=True)
class TrainConfig:
    """A validated CIFAR trial config (see `DEFAULTS` for the meaning of each field)."""

    dataset: str
    data_dir: str | None
    download: bool
    subset: int | None
    val_fraction: float
    augment: bool
    model: str
    l1: int
    l2: int
    width: int
    depth: int
    dropout: float
    weights: str | None
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    schedule: str
    label_smoothing: float
    batch_size: int
    epochs: int
    precision: str
    channels_last: bool
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain Python values (stored in every checkpoint)."""
        return asdict(self)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"config {key}: must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _number(key: str, value: Any, kind: type) -> Any:
    low, high = KEYS[key].low, KEYS[key].high
    # numbers.Real also admits numpy scalars, which some searchers hand out.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"config {key}: must be a number, got {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise ConfigError(f"config {key}: must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if low is not None and value < low:
        raise ConfigError(f"config {key}: must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"config {key}: must be <= {high}, got {value!r}")
    return value


def _flatten_optimizer(raw: dict[str, Any]) -> dict[str, Any]:
    opt = raw.get("optimizer")
    if not isinstance(opt, Mapping):
        return raw
    group = dict(opt)
    name = group.pop("name", None)
    name = _choice("optimizer.name", name, OPTIMIZERS)
    unknown = sorted(set(group) - _OPTIMIZER_GROUP_KEYS[name])
    if unknown:
        allowed = ", ".join(sorted(_OPTIMIZER_GROUP_KEYS[name]))
        raise ConfigError(f"config optimizer: unknown key {unknown[0]!r} for {name} (allowed: name, {allowed})")
    return {**raw, **group, "optimizer": name}


def parse_config(config: Mapping[str, Any], *, max_epochs: int | None = None, seed: int | None = None) -> TrainConfig:
    """Validate a trial config against `DEFAULTS` and fill in what it leaves out.

    Args:
        config: The trial's config as Ray Tune passes it.
        max_epochs: The sweep's max epochs, used when ``epochs`` is not set.
        seed: The sweep's seed, used when ``seed`` is not set.

    Raises:
        ConfigError: An unknown key or a bad value (one line naming the key).
    """
    raw = _flatten_optimizer(dict(config))
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"config: unknown key {unknown[0]!r} for the cifar trainable (known: {', '.join(sorted(DEFAULTS))})"
        )
    c = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    model = str(c["model"])
    if model not in ("tutorial_cnn", "resnet_small") and not model.startswith("torchvision:"):
        raise ConfigError(f"config model: must be tutorial_cnn, resnet_small or torchvision:<name>, got {model!r}")
    epochs = c["epochs"] if c["epochs"] is not None else (max_epochs if max_epochs is not None else 10)
    seed_value = c["seed"] if c["seed"] is not None else (seed if seed is not None else 0)
    return TrainConfig(
        dataset=_choice("dataset", c["dataset"], DATASETS),
        data_dir=None if c["data_dir"] is None else str(c["data_dir"]),
        download=bool(c["download"]),
        subset=None if c["subset"] is None else _number("subset", c["subset"], int),
        val_fraction=_number("val_fraction", c["val_fraction"], float),
        augment=bool(c["augment"]),
        model=model,
        l1=_number("l1", c["l1"], int),
        l2=_number("l2", c["l2"], int),
        width=_number("width", c["width"], int),
        depth=_number("depth", c["depth"], int),
        dropout=_number("dropout", c["dropout"], float),
        weights=None if c["weights"] is None else str(c["weights"]),
        optimizer=_choice("optimizer", c["optimizer"], OPTIMIZERS),
        lr=_number("lr", c["lr"], float),
        momentum=_number("momentum", c["momentum"], float),
        nesterov=bool(c["nesterov"]),
        weight_decay=_number("weight_decay", c["weight_decay"], float),
        schedule=_choice("schedule", c["schedule"], SCHEDULES),
        label_smoothing=_number("label_smoothing", c["label_smoothing"], float),
        batch_size=_number("batch_size", c["batch_size"], int),
        epochs=_number("epochs", epochs, int),
        precision=_choice("precision", c["precision"], PRECISIONS),
        channels_last=bool(c["channels_last"]),
        seed=_number("seed", seed_value, int),
    )
