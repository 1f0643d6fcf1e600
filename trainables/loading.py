"""The trained network of a built-in ``cifar`` trial, back as an ``nn.Module``.

A sweep's answer is a trial; what a person wants from it is the model. Each checkpoint the
``cifar`` trainable writes holds its resolved config (model, ``l1``/``l2``, ``width``, ...) and
the data set's class count beside the weights, so the network is rebuilt from the checkpoint
alone: no spec, no store, no Ray. (A user's own trainable writes its own files: load them with
``torch.load`` inside ``ray.tune.Checkpoint(trial.checkpoint_path).as_directory()``.)

``trainables`` imports neither ``results`` nor ``search``, so a trial record is read by its
fields (``checkpoint_path``, ``trial_id``, ``sweep``, ``status``), whatever class holds them.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.trainables.config import parse_config
from hpo.trainables.training import STATE_FILE, CheckpointError, load_state, model_for

__all__ = ["load_model"]


def _checkpoint_dir(source: Any) -> tuple[Path, str]:
    """The local checkpoint directory ``source`` names, and the prefix its errors start with."""
    if not hasattr(source, "checkpoint_path"):
        if not isinstance(source, str | os.PathLike):
            raise TypeError("load_model takes a trial record (hpo.results.TrialRecord) or a checkpoint "
                            f"directory, got {type(source).__name__}")
        return Path(source), ""
    where = f"trial {getattr(source, 'trial_id', '?')} of sweep {getattr(source, 'sweep', '?')}: "
    uri = source.checkpoint_path
    if not uri:
        raise CheckpointError(f"{where}no checkpoint to load (status {getattr(source, 'status', '?')}: "
                              "the trial saved none)")
    if "://" in uri and not uri.startswith("file://"):
        # The URI may carry credentials (s3://KEY:SECRET@bucket): only its scheme is shown.
        scheme = uri.split("://", 1)[0]
        raise CheckpointError(f"{where}its checkpoint is in {scheme}:// storage; copy it here first: "
                              "with hpo.results.local_checkpoint(trial.checkpoint_path) as d: load_model(d)")
    return Path(uri.removeprefix("file://")), where


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(":")


def load_model(source: Any, *, device: torch.device | str = "cpu") -> nn.Module:
    """The network a ``cifar`` trial trained, its last checkpoint's weights loaded, in eval mode.

    The network is built from the config stored in the checkpoint (``model``, ``l1``, ``l2``,
    ``width``, ``depth``, ``dropout``; the class count of its data set), as the trial built it.
    It takes images as float tensors (N, 3, 32, 32) normalised per channel by the data set's mean
    and std (``load_dataset(name).mean`` / ``.std``); ``evaluate_checkpoint`` scores a checkpoint
    on the test split with that done for you.

    Args:
        source: A trial record (``hpo.results.TrialRecord``, e.g. ``Store.open().best(name)``)
            or a checkpoint directory written by the ``cifar`` trainable. A checkpoint in remote
            storage (``s3://...``) is copied first: ``with hpo.results.local_checkpoint(path) as d:
            load_model(d)``.
        device: Where the returned model lives (default the CPU).

    Returns:
        The ``nn.Module`` (``TutorialCNN``, ``ResNetSmall`` or the torchvision model), in eval mode.

    Raises:
        CheckpointError: one line: the trial saved no checkpoint, its checkpoint is remote, the
            directory is missing, or it was not written by the built-in ``cifar`` trainable
            (another trainable's checkpoint).
        TypeError: ``source`` is neither a trial record nor a path.
    """
    directory, where = _checkpoint_dir(source)
    if directory.is_file() and directory.name == STATE_FILE:
        directory = directory.parent
    if not directory.is_dir():
        raise CheckpointError(f"{where}checkpoint {directory} does not exist (moved, deleted, or on another machine)")
    if not (directory / STATE_FILE).is_file():
        raise CheckpointError(f"{where}checkpoint {directory} was not written by the built-in cifar trainable "
                              f"(no {STATE_FILE}); load your trainable's own files with torch.load")
    try:
        state = load_state(directory, map_location="cpu")
    except (RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        # torch's own text here advises weights_only=False, i.e. running code from the file: not shown.
        raise CheckpointError(f"{where}checkpoint {directory}: {STATE_FILE} cannot be read, damaged or not a "
                              f"torch file ({type(exc).__name__})") from exc
    try:
        config = parse_config(state["config"])
        # The weights come from the checkpoint: a torchvision model's pretrained file is not needed here.
        model = model_for(dataclasses.replace(config, weights=None), num_classes=int(state["data"]["num_classes"]))
    except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
        raise CheckpointError(f"{where}checkpoint {directory}: {STATE_FILE} holds no usable config "
                              f"({type(exc).__name__}: {_first_line(exc)})") from exc
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{where}checkpoint {directory}: its weights do not fit the {config.model} its "
                              f"config describes ({_first_line(exc)})") from exc
    return model.to(device).eval()
