from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from hpo.trainables.data import DataSet
from hpo.trainables.training import OOM_FLOOR, Trainer, TrialOutOfMemoryError, lr_factor, train_epochs

BASE = {"subset": 320, "batch_size": 32, "l1": 16, "l2": 16, "augment": True, "dropout": 0.1}


def _params(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


@pytest.mark.slow(seconds=5)
def test_train_epochs_without_ray_yields_per_epoch(small_data: DataSet) -> None:
    results = list(train_epochs({**BASE, "epochs": 2}, small_data, device="cpu"))
    assert [m["epoch"] for m in results] == [1, 2]
    assert results[0]["micro_batch_size"] == 32 and results[0]["oom_halvings"] == 0


def test_checkpoint_restore_continues_with_identical_state(small_data: DataSet, tmp_path: Path) -> None:
    config = {**BASE, "epochs": 3, "schedule": "cosine", "optimizer": {"name": "sgd", "momentum": 0.9}}
    straight = Trainer(config, small_data, device="cpu")
    reference = list(straight.epochs())

    first = Trainer(config, small_data, device="cpu")
    first.train_epoch()
    first.save(tmp_path)
    torch.manual_seed(1234)  # the restored trial must not depend on the process's RNG
    resumed = Trainer(config, small_data, device="cpu")
    resumed.restore(tmp_path)
    assert resumed.epoch == 1
    rest = list(resumed.epochs())
    assert [m["epoch"] for m in rest] == [2, 3]
    for a, b in zip(_params(straight), _params(resumed), strict=True):
        assert torch.equal(a, b)
    assert rest[-1]["train_loss"] == reference[-1]["train_loss"]
    assert rest[-1]["val_acc"] == reference[-1]["val_acc"]
    assert resumed.scheduler.last_epoch == straight.scheduler.last_epoch


def test_checkpoint_is_self_describing(small_data: DataSet, tmp_path: Path) -> None:
    from hpo.trainables.training import load_state

    trainer = Trainer({**BASE, "epochs": 1}, small_data, device="cpu")
    trainer.train_epoch()
    trainer.save(tmp_path)
    state = load_state(tmp_path)
    assert state["epoch"] == 1 and state["config"]["l1"] == 16
    assert set(state) >= {"model", "optimizer", "scheduler", "scaler", "rng", "config"}
    with pytest.raises(FileNotFoundError) as info:
        load_state(tmp_path / "nope")
    assert str(info.value) == f"checkpoint {tmp_path / 'nope'}: no trainer.pt in it (not a cifar trainable checkpoint)"


class _OOMAbove(nn.Module):
    """Raises CUDA OOM when a forward batch is larger than ``limit`` (a model too big for memory)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.calls: list[int] = []
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls.append(x.shape[0])
        if self.training and x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_oom_fail_raises_clear_error(small_data: DataSet) -> None:
    trainer = Trainer({**BASE, "batch_size": 64}, small_data, device="cpu", on_oom="fail", model=_OOMAbove(16))
    with pytest.raises(TrialOutOfMemoryError) as info:
        trainer.train_epoch()
    assert str(info.value) == "CUDA out of memory at batch_size=64 on cpu (peak 0.0 GB)"


def test_oom_halve_batch_keeps_effective_batch(small_data: DataSet) -> None:
    config = {**BASE, "batch_size": 64, "augment": False, "dropout": 0.0}
    model, unlimited = _OOMAbove(16), _OOMAbove(10_000)
    unlimited.load_state_dict(model.state_dict())
    trainer = Trainer(config, small_data, device="cpu", on_oom="halve_batch", model=model)
    metrics = trainer.train_epoch()
    assert metrics["micro_batch_size"] == 16 and metrics["oom_halvings"] == 2 and metrics["batch_size"] == 64
    assert max(model.calls[-5:]) <= 16
    # Gradient accumulation makes the result equal to training at full batch without OOM.
    ref = Trainer(config, small_data, device="cpu", model=unlimited)
    ref_metrics = ref.train_epoch()
    assert ref.steps_per_epoch == trainer.steps_per_epoch
    assert metrics["train_loss"] == pytest.approx(ref_metrics["train_loss"], rel=1e-4)
    for a, b in zip(_params(trainer), _params(ref), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # The next epoch keeps the smaller micro-batch.
    assert trainer.train_epoch()["micro_batch_size"] == 16


def test_oom_halve_batch_stops_at_floor(small_data: DataSet) -> None:
    trainer = Trainer({**BASE, "batch_size": 64}, small_data, device="cpu", on_oom="halve_batch", model=_OOMAbove(1))
    with pytest.raises(TrialOutOfMemoryError) as info:
        trainer.train_epoch()
    assert str(info.value) == (
        f"CUDA out of memory at batch_size={OOM_FLOOR} on cpu (peak 0.0 GB); halve_batch is at its floor of {OOM_FLOOR}"
    )


def test_schedules() -> None:
    assert lr_factor("constant", 50, 100) == 1.0
    assert lr_factor("cosine", 0, 100) == 1.0 and lr_factor("cosine", 100, 100) == pytest.approx(0.0)
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("onecycle", 0, 100) == pytest.approx(0.1)
    assert lr_factor("onecycle", 25, 100) == pytest.approx(1.0)
    assert lr_factor("onecycle", 100, 100) == pytest.approx(0.0)


def test_adamw_and_label_smoothing_run(small_data: DataSet) -> None:
    config = {**BASE, "optimizer": {"name": "adamw", "weight_decay": 0.01}, "label_smoothing": 0.1, "lr": 1e-3}
    trainer = Trainer(config, small_data, device="cpu")
    assert isinstance(trainer.optimizer, torch.optim.AdamW)
    assert trainer.criterion.label_smoothing == 0.1
    assert trainer.train_epoch()["train_loss"] > 0


def test_on_oom_is_validated(small_data: DataSet) -> None:
    with pytest.raises(ValueError) as info:
        Trainer(BASE, small_data, device="cpu", on_oom="retry")
    assert str(info.value) == "on_oom must be one of fail, halve_batch, got 'retry'"


@pytest.mark.slow(seconds=5)
def test_synthetic_is_learnable_good_beats_bad() -> None:
    from hpo.trainables.data import load_dataset

    torch.set_num_threads(2)
    data = load_dataset("synthetic")
    common = {"subset": 3000, "batch_size": 64, "epochs": 2, "augment": False}
    good = list(train_epochs({**common, "lr": 0.05, "l1": 128, "l2": 84}, data, device="cpu"))[-1]
    bad = list(train_epochs({**common, "lr": 0.001, "l1": 8, "l2": 8}, data, device="cpu"))[-1]
    assert good["val_acc"] >= bad["val_acc"] + 0.4, (good["val_acc"], bad["val_acc"])
    assert good["val_acc"] < 0.99  # not trivial


def test_select_device_without_cuda_is_cpu() -> None:
    from hpo.trainables.device import describe_device, select_device

    if torch.cuda.is_available():
        assert select_device() == torch.device("cuda", 0)
    else:
        assert select_device() == torch.device("cpu")
    assert describe_device(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize(("optimizer", "schedule"), [("sgd", "constant"), ("adamw", "cosine")])
def test_restore_applies_the_config_over_the_checkpoint(small_data: DataSet, tmp_path: Path, optimizer: str,
                                                        schedule: str) -> None:
    # PBT's exploit: a trial resumes from another trial's checkpoint with mutated hyperparameters.
    donor = Trainer({**BASE, "epochs": 3, "optimizer": optimizer, "schedule": schedule, "lr": 0.01,
                     "momentum": 0.9, "weight_decay": 1e-4}, small_data, device="cpu")
    donor.train_epoch()
    donor.save(tmp_path)
    mutated = Trainer({**BASE, "epochs": 3, "optimizer": optimizer, "schedule": schedule, "lr": 0.05,
                       "momentum": 0.8, "weight_decay": 2e-4, "batch_size": 16}, small_data, device="cpu")
    mutated.restore(tmp_path)
    for a, b in zip(_params(donor), _params(mutated), strict=True):
        assert torch.equal(a, b)  # the weights are the donor's
    group = mutated.optimizer.param_groups[0]
    factor = lr_factor(schedule, mutated.scheduler.last_epoch, mutated.total_steps)
    assert group["lr"] == pytest.approx(0.05 * factor) and group["weight_decay"] == 2e-4
    assert (group["betas"][0] if optimizer == "adamw" else group["momentum"]) == 0.8
    metrics = mutated.train_epoch()
    factor = lr_factor(schedule, mutated.scheduler.last_epoch, mutated.total_steps)
    assert metrics["lr"] == pytest.approx(0.05 * factor)  # the lr in effect is the mutated one
    assert metrics["micro_batch_size"] == 16


def test_halve_for_oom_sets_the_share_halved_and_a_restored_larger_count_stands(small_data: DataSet) -> None:
    from hpo.trainables.distributed import halved_micro_batch

    trainer = Trainer({**BASE, "batch_size": 64}, small_data, device="cpu")
    trainer.halve_for_oom(0)
    assert (trainer.micro_batch, trainer.oom_halvings) == (64, 0)
    trainer.halve_for_oom(2)
    assert (trainer.micro_batch, trainer.oom_halvings) == (16, 2)
    trainer.halve_for_oom(1)  # restored from a checkpoint already halved twice: that stands
    assert (trainer.micro_batch, trainer.oom_halvings) == (16, 2)
    metrics = trainer.train_epoch()
    assert metrics["micro_batch_size"] == 16 and metrics["batch_size"] == 64
    assert [halved_micro_batch(64, 2, n) for n in range(7)] == [32, 16, 8, 4, 2, 1, 1]
    assert halved_micro_batch(65, 2, 0) == 33  # a rank's share rounds up
