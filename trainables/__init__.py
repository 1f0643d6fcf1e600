"""Trainables: the registry, the built-in CIFAR trainable and its helpers.

Importing this package registers ``cifar`` by import path only: torch, torchvision and Ray
are imported when a trainable is resolved or built, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainables.config import CIFAR_CONTRACT as _CIFAR_CONTRACT
from trainables.contract import AUTO_METRICS, ConfigKey, Contract, declare, key_problem
from trainables.registry import (
    RunContext,
    TrainableNotFoundError,
    build_trainable,
    contract_of,
    register,
    registered_names,
    resolve,
)
from trainables.registry import _add as _register_path

if TYPE_CHECKING:
    from trainables.cifar import evaluate_checkpoint, prepare_cifar, train_cifar
    from trainables.config import ConfigError
    from trainables.data import DataSet, DataUnavailableError, load_dataset
    from trainables.device import select_device
    from trainables.training import CheckpointError, Trainer, TrialOutOfMemoryError, train_epochs

__all__ = [
    "AUTO_METRICS",
    "CheckpointError",
    "ConfigError",
    "ConfigKey",
    "Contract",
    "DataSet",
    "DataUnavailableError",
    "RunContext",
    "TrainableNotFoundError",
    "Trainer",
    "TrialOutOfMemoryError",
    "build_trainable",
    "contract_of",
    "declare",
    "evaluate_checkpoint",
    "key_problem",
    "load_dataset",
    "prepare_cifar",
    "register",
    "registered_names",
    "resolve",
    "select_device",
    "train_cifar",
    "train_epochs",
]

_register_path("cifar", "trainables.cifar:train_cifar", "trainables.cifar:prepare_cifar", _CIFAR_CONTRACT)

_LAZY = {
    "evaluate_checkpoint": "trainables.cifar",
    "prepare_cifar": "trainables.cifar",
    "train_cifar": "trainables.cifar",
    "ConfigError": "trainables.config",
    "DataSet": "trainables.data",
    "DataUnavailableError": "trainables.data",
    "load_dataset": "trainables.data",
    "select_device": "trainables.device",
    "CheckpointError": "trainables.training",
    "Trainer": "trainables.training",
    "TrialOutOfMemoryError": "trainables.training",
    "train_epochs": "trainables.training",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trainables' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
