"""Trainables: the registry, the built-in CIFAR trainable and its helpers.

Importing this package registers ``cifar`` by import path only: torch, torchvision and Ray
are imported when a trainable is resolved or built, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpo.trainables.config import CIFAR_CONTRACT as _CIFAR_CONTRACT
from hpo.trainables.contract import AUTO_METRICS, ConfigKey, Contract, declare, key_problem
from hpo.trainables.registry import (
    RunContext,
    TrainableNotFoundError,
    build_trainable,
    contract_of,
    register,
    register_path,
    registered_names,
    resolve,
)

if TYPE_CHECKING:
    from hpo.trainables.cifar import evaluate_checkpoint, prepare_cifar, train_cifar
    from hpo.trainables.config import ConfigError
    from hpo.trainables.data import DataSet, DataUnavailableError, load_dataset
    from hpo.trainables.device import select_device
    from hpo.trainables.loading import load_model
    from hpo.trainables.training import CheckpointError, Trainer, TrialOutOfMemoryError, train_epochs

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
    "load_model",
    "prepare_cifar",
    "register",
    "registered_names",
    "resolve",
    "select_device",
    "train_cifar",
    "train_epochs",
]

register_path("cifar", "hpo.trainables.cifar:train_cifar", "hpo.trainables.cifar:prepare_cifar", _CIFAR_CONTRACT)

_LAZY = {
    "evaluate_checkpoint": "hpo.trainables.cifar",
    "prepare_cifar": "hpo.trainables.cifar",
    "train_cifar": "hpo.trainables.cifar",
    "ConfigError": "hpo.trainables.config",
    "DataSet": "hpo.trainables.data",
    "DataUnavailableError": "hpo.trainables.data",
    "load_dataset": "hpo.trainables.data",
    "select_device": "hpo.trainables.device",
    "load_model": "hpo.trainables.loading",
    "CheckpointError": "hpo.trainables.training",
    "Trainer": "hpo.trainables.training",
    "TrialOutOfMemoryError": "hpo.trainables.training",
    "train_epochs": "hpo.trainables.training",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpo.trainables' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
