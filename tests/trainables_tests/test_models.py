from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hpo.trainables.data import DataSet
from hpo.trainables.models import ResNetSmall, TutorialCNN, build_model
from hpo.trainables.training import Trainer


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("tutorial_cnn", {"l1": 16, "l2": 8}),
        ("resnet_small", {"width": 8, "depth": 1}),
        ("resnet_small", {"width": 8, "depth": 0}),
        ("torchvision:resnet18", {}),
        ("torchvision:mobilenet_v3_small", {}),
    ],
)
def test_models_map_32x32_to_logits(name: str, kwargs: dict) -> None:
    model = build_model(name, num_classes=7, **kwargs)
    out = model.eval()(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7)


def test_tutorial_cnn_is_the_tutorial_net() -> None:
    net = TutorialCNN(l1=120, l2=84)
    assert sum(p.numel() for p in net.parameters()) == 62_006  # the tutorial's parameter count


def test_resnet_small_width_and_depth_change_size() -> None:
    def size(m: torch.nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    assert size(ResNetSmall(width=16, depth=1)) > size(ResNetSmall(width=16, depth=0))
    assert size(ResNetSmall(width=32, depth=1)) > size(ResNetSmall(width=16, depth=1))


def test_torchvision_adapter_uses_a_small_stem_and_local_weights(tmp_path: Path) -> None:
    model = build_model("torchvision:resnet18", num_classes=10)
    assert model.conv1.stride == (1, 1) and isinstance(model.maxpool, torch.nn.Identity)
    state = {k: torch.full_like(v, 0.5) for k, v in model.state_dict().items() if k.startswith("layer1")}
    state["fc.weight"] = torch.zeros(1000, 512)  # an ImageNet head: skipped by shape
    path = tmp_path / "w.pt"
    torch.save(state, path)
    loaded = build_model("torchvision:resnet18", num_classes=10, weights=str(path))
    assert torch.all(loaded.layer1[0].conv1.weight == 0.5)
    assert loaded.fc.weight.shape == (10, 512)


def test_torchvision_errors() -> None:
    with pytest.raises(FileNotFoundError) as info:
        build_model("torchvision:resnet18", num_classes=10, weights="/nonexistent/w.pt")
    assert str(info.value) == (
        "model torchvision:resnet18: weights file /nonexistent/w.pt does not exist (nothing is downloaded)"
    )
    with pytest.raises(ValueError, match=r"^model torchvision:not_a_net: not a torchvision classification model"):
        build_model("torchvision:not_a_net", num_classes=10)


@pytest.mark.slow(seconds=5)
@pytest.mark.parametrize(
    "model", [{"model": "tutorial_cnn"}, {"model": "resnet_small", "width": 8}, {"model": "torchvision:resnet18"}]
)
def test_one_epoch_of_each_model(model: dict, small_data: DataSet) -> None:
    config = {**model, "subset": 96 if "torchvision" in model["model"] else 256, "batch_size": 32, "epochs": 1}
    trainer = Trainer(config, small_data, device="cpu")
    (metrics,) = list(trainer.epochs())
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time_s", "images_per_s"):
        assert isinstance(metrics[key], float), key
    assert metrics["epoch"] == 1 and trainer.epoch == 1
    assert "gpu_mem_peak_mb" not in metrics
