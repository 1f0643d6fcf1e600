"""``load_model``: the network of a cifar trial back from the checkpoint the trainable wrote (real torch, no Ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from hpo.results import TrialRecord
from hpo.trainables import CheckpointError, load_model
from hpo.trainables.data import DataSet, make_synthetic
from hpo.trainables.models import ResNetSmall, TutorialCNN
from hpo.trainables.training import Trainer

CONFIG = {"dataset": "synthetic", "subset": 96, "batch_size": 32, "epochs": 1, "l1": 16, "l2": 8, "seed": 3}


def _checkpoint(tmp_path: Path, data: DataSet, *, device: str = "cpu", **config: Any) -> tuple[Trainer, Path]:
    """One epoch trained, then the checkpoint ``train_cifar`` writes each epoch (``Trainer.save``)."""
    trainer = Trainer({**CONFIG, **config}, data, device=device)
    trainer.train_epoch()
    directory = tmp_path / "checkpoint_000000"
    directory.mkdir()
    trainer.save(directory)
    return trainer, directory


def _record(checkpoint_path: str | None, status: str = "completed") -> TrialRecord:
    return TrialRecord(sweep="first", trial_id="54ea0d4b", config=dict(CONFIG), status=status,
                       checkpoint_path=checkpoint_path)


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a.eval()
    with torch.inference_mode():
        return torch.equal(a(x), b(x))


def test_the_trials_network_comes_back_with_its_weights(tmp_path: Path, small_data: DataSet) -> None:
    trainer, directory = _checkpoint(tmp_path, small_data)
    model = load_model(directory)
    assert isinstance(model, TutorialCNN) and not model.training
    assert (model.fc1.out_features, model.fc2.out_features, model.fc3.out_features) == (16, 8, 10)
    assert _same_outputs(trainer.model, model)
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_a_trial_record_names_its_checkpoint(tmp_path: Path, small_data: DataSet) -> None:
    trainer, directory = _checkpoint(tmp_path, small_data)
    assert _same_outputs(trainer.model, load_model(_record(str(directory))))
    assert _same_outputs(trainer.model, load_model(_record(f"file://{directory}")))
    assert _same_outputs(trainer.model, load_model(directory / "trainer.pt"))


def test_the_shape_and_classes_come_from_the_checkpoint(tmp_path: Path) -> None:
    four_classes = make_synthetic(n_train=120, n_test=20, num_classes=4)
    trainer, directory = _checkpoint(tmp_path, four_classes, model="resnet_small", width=8, depth=0)
    model = load_model(str(directory))
    assert isinstance(model, ResNetSmall) and model.head.out_features == 4
    assert _same_outputs(trainer.model, model)


def test_a_trial_without_a_checkpoint_says_so() -> None:
    with pytest.raises(CheckpointError) as info:
        load_model(_record(None, status="error"))
    assert str(info.value) == ("trial 54ea0d4b of sweep first: no checkpoint to load "
                               "(status error: the trial saved none)")


def test_a_remote_checkpoint_shows_its_scheme_only() -> None:
    with pytest.raises(CheckpointError) as info:
        load_model(_record("s3://AKIAKEY:s3cr3t@bucket/ray/first/t/checkpoint_000001"))
    assert str(info.value) == ("trial 54ea0d4b of sweep first: its checkpoint is in s3:// storage; copy it here first: "
                               "with hpo.results.local_checkpoint(trial.checkpoint_path) as d: load_model(d)")


def test_a_missing_directory_and_another_trainables_checkpoint(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    with pytest.raises(CheckpointError) as info:
        load_model(_record(str(gone)))
    assert str(info.value) == (f"trial 54ea0d4b of sweep first: checkpoint {gone} does not exist "
                               "(moved, deleted, or on another machine)")
    own = tmp_path / "own"
    own.mkdir()
    torch.save({"model": {}, "epoch": 1}, own / "state.pt")  # a user's trainable (docs/tutorial/own-trainable.md)
    with pytest.raises(CheckpointError) as info:
        load_model(own)
    assert str(info.value) == (f"checkpoint {own} was not written by the built-in cifar trainable (no trainer.pt); "
                               "load your trainable's own files with torch.load")
    assert isinstance(info.value, FileNotFoundError)  # and an hpo.InputError: the CLI's one line


def test_a_damaged_checkpoint_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "trainer.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError) as info:
        load_model(tmp_path)
    assert str(info.value) == (f"checkpoint {tmp_path}: trainer.pt cannot be read, damaged or not a torch file "
                               "(UnpicklingError)")


def test_weights_that_do_not_fit_the_network_are_one_line(tmp_path: Path, small_data: DataSet) -> None:
    _, directory = _checkpoint(tmp_path, small_data)
    state = torch.load(directory / "trainer.pt", weights_only=True)
    state["config"]["l1"] = 32  # the checkpoint's config no longer matches its weights
    torch.save(state, directory / "trainer.pt")
    with pytest.raises(CheckpointError) as info:
        load_model(directory)
    assert str(info.value) == (f"checkpoint {directory}: its weights do not fit the tutorial_cnn its config "
                               "describes (Error(s) in loading state_dict for TutorialCNN)")
    state["config"] = {"model": "vgg"}
    torch.save(state, directory / "trainer.pt")
    with pytest.raises(CheckpointError) as info:
        load_model(directory)
    assert str(info.value) == (f"checkpoint {directory}: trainer.pt holds no usable config (ConfigError: config "
                               "model: must be tutorial_cnn, resnet_small or torchvision:<name>, got 'vgg')")


def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError) as info:
        load_model(42)
    assert str(info.value) == ("load_model takes a trial record (hpo.results.TrialRecord) or a checkpoint "
                               "directory, got int")


@pytest.mark.gpu
def test_a_checkpoint_trained_on_a_gpu_loads_on_the_cpu_and_back(tmp_path: Path, small_data: DataSet) -> None:
    trainer, directory = _checkpoint(tmp_path, small_data, device="cuda", model="resnet_small", width=8,
                                     precision="bf16")
    assert trainer.device.type == "cuda" and trainer.channels_last
    on_cpu = load_model(directory)
    assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
    trained = {k: v.cpu() for k, v in trainer.model.state_dict().items()}
    assert all(torch.equal(trained[k], v) for k, v in on_cpu.state_dict().items())
    on_gpu = load_model(directory, device="cuda")
    assert {p.device.type for p in on_gpu.parameters()} == {"cuda"}
