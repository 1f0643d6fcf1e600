"""Models for 32x32 images: the Ray tutorial CNN, a fast small ResNet, torchvision adapters."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

__all__ = ["ResNetSmall", "TutorialCNN", "build_model"]

logger = logging.getLogger(__name__)


class TutorialCNN(nn.Module):
    """The network of the Ray Tune / PyTorch CIFAR-10 tutorial, with hidden sizes l1, l2."""

    def __init__(self, *, l1: int = 120, l2: int = 84, num_classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, l1)
        self.fc2 = nn.Linear(l1, l2)
        self.drop = nn.Dropout(dropout)
        self.fc3 = nn.Linear(l2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(self.drop(x))


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU()]


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(channels, channels), *_conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetSmall(nn.Module):
    """A small fast ResNet in the style of the fast CIFAR-10 records (airbench, ResNet-9).

    Stem conv at ``width // 2``; three stages at ``width``, ``2 width``, ``4 width`` channels,
    each a conv + 2x2 max-pool + BN + GELU followed by ``depth`` residual blocks; global max
    pooling and a linear head scaled down (as airbench does) for a calm start.
    """

    def __init__(self, *, width: int = 32, depth: int = 1, num_classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [*_conv_bn(3, max(1, width // 2))]
        cin = max(1, width // 2)
        for mult in (1, 2, 4):
            cout = width * mult
            layers += [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.MaxPool2d(2),
                nn.BatchNorm2d(cout),
                nn.GELU(),
            ]
            layers += [_Residual(cout) for _ in range(depth)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(cin, num_classes, bias=False)
        self.scale = 0.125

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.amax(x, dim=(2, 3))
        return self.head(self.drop(x)) * self.scale


def _torchvision_model(name: str, *, num_classes: int, weights: str | None) -> nn.Module:
    import torchvision

    try:
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    except ValueError as exc:
        raise ValueError(f"model torchvision:{name}: not a torchvision classification model ({exc})") from exc
    # ImageNet stems downsample 4x before the first block; on 32x32 that leaves 8x8 maps.
    if isinstance(getattr(model, "conv1", None), nn.Conv2d) and hasattr(model, "maxpool"):
        out = model.conv1.out_channels
        model.conv1 = nn.Conv2d(3, out, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"model torchvision:{name}: weights file {path} does not exist (nothing is downloaded)"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = model.state_dict()
        keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        skipped = sorted(set(state) - set(keep))
        model.load_state_dict(keep, strict=False)
        logger.info("loaded %d tensors from %s (%d skipped: shape or name mismatch)", len(keep), path, len(skipped))
    return model


def build_model(
    name: str,
    *,
    num_classes: int,
    l1: int = 120,
    l2: int = 84,
    width: int = 32,
    depth: int = 1,
    dropout: float = 0.0,
    weights: str | None = None,
) -> nn.Module:
    """Build a model by config name: ``tutorial_cnn``, ``resnet_small`` or ``torchvision:<name>``."""
    if name == "tutorial_cnn":
        return TutorialCNN(l1=l1, l2=l2, num_classes=num_classes, dropout=dropout)
    if name == "resnet_small":
        return ResNetSmall(width=width, depth=depth, num_classes=num_classes, dropout=dropout)
    if name.startswith("torchvision:"):
        return _torchvision_model(name.split(":", 1)[1], num_classes=num_classes, weights=weights)
    raise ValueError(f"unknown model {name!r}: must be tutorial_cnn, resnet_small or torchvision:<name>")
