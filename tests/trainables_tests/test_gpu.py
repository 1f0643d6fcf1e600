"""GPU behaviour of the training loop: device placement, AMP, channels_last (skipped without CUDA)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hpo.trainables.data import DataSet
from hpo.trainables.training import Trainer

pytestmark = pytest.mark.gpu

BASE = {"subset": 512, "batch_size": 64, "epochs": 1, "model": "resnet_small", "width": 16}


def test_whole_set_and_model_live_on_the_gpu(small_data: DataSet) -> None:
    trainer = Trainer(BASE, small_data)  # select_device(): cuda:0 outside Ray when CUDA exists
    assert trainer.device.type == "cuda"
    assert trainer.train_x.is_cuda and trainer.val_x.is_cuda and trainer.train_x.dtype == torch.uint8
    assert all(p.is_cuda for p in trainer.model.parameters())
    metrics = trainer.train_epoch()
    assert metrics["gpu_mem_peak_mb"] > 0


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_checkpoints(precision: str, small_data: DataSet, tmp_path: Path) -> None:
    trainer = Trainer({**BASE, "precision": precision, "epochs": 2}, small_data, device="cuda")
    assert trainer.scaler.is_enabled() == (precision == "fp16")
    metrics = trainer.train_epoch()
    assert torch.isfinite(torch.tensor(metrics["train_loss"])) and metrics["val_acc"] >= 0
    trainer.save(tmp_path)
    resumed = Trainer({**BASE, "precision": precision, "epochs": 2}, small_data, device="cuda")
    resumed.restore(tmp_path)
    assert resumed.epoch == 1 and resumed.scaler.get_scale() == trainer.scaler.get_scale()
    assert resumed.train_epoch()["epoch"] == 2


def test_channels_last_on_gpu_only(small_data: DataSet) -> None:
    gpu = Trainer({**BASE, "channels_last": True}, small_data, device="cuda")
    conv = gpu.model.features[0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert gpu.normalize(gpu.train_x[:4]).is_contiguous(memory_format=torch.channels_last)
    cpu = Trainer({**BASE, "channels_last": True}, small_data, device="cpu")
    assert not cpu.channels_last and cpu.amp_dtype is None


def test_augmentation_runs_on_the_gpu(small_data: DataSet) -> None:
    from hpo.trainables.batches import augment_batch

    x = small_data.train_x[:32].cuda()
    out = augment_batch(x, generator=torch.Generator().manual_seed(0))
    assert out.is_cuda and out.shape == x.shape
    cpu = augment_batch(x.cpu(), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.cpu(), cpu)  # the same draws on either device


def test_real_oom_message_names_the_gpu(small_data: DataSet) -> None:
    from hpo.trainables.training import TrialOutOfMemoryError

    config = {**BASE, "batch_size": 512, "subset": 1200, "width": 32, "epochs": 2}
    trainer = Trainer(config, small_data, device="cuda", on_oom="fail")
    trainer.train_epoch()  # warm up cuDNN / cuBLAS so the failure below is a plain allocation
    torch.cuda.empty_cache()
    hogs = []
    free, _ = torch.cuda.mem_get_info()
    for size in [free - (256 << 20)] + [128 << 20] * 4 + [16 << 20] * 8:  # fill all but a few MiB
        try:
            hogs.append(torch.empty(size, dtype=torch.uint8, device="cuda"))
        except torch.cuda.OutOfMemoryError:
            continue
    try:
        with pytest.raises(TrialOutOfMemoryError, match=r"^CUDA out of memory at batch_size=512 on GPU \d+ \(peak "):
            trainer.train_epoch()
    finally:
        hogs.clear()
        torch.cuda.empty_cache()
