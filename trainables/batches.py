"""Batches cut from tensors: shuffling, crop/flip augmentation and normalisation on device."""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["Normalizer", "augment_batch", "iter_batches"]


def iter_batches(n: int, batch_size: int, *, generator: torch.Generator | None) -> Iterator[torch.Tensor]:
    """Index tensors of a (shuffled when a generator is given) epoch; the last may be short."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def augment_batch(x: torch.Tensor, *, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding plus random horizontal flip, per image, on x's device.

    The random draws come from a CPU generator (so results match across devices and resume
    exactly from a checkpoint); the pixel work runs where ``x`` lives.

    Args:
        x: Images (N, C, H, W), any dtype.
        generator: CPU generator for the crop offsets and flip decisions.
        pad: Padding in pixels on each side before cropping back to H x W.
    """
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    dev = x.device
    width = w + 2 * pad
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad)).flatten(2)  # (N, C, (H+2p)(W+2p))
    rows = offsets[0].to(dev)[:, None] + torch.arange(h, device=dev)
    cols = offsets[1].to(dev)[:, None] + torch.arange(w, device=dev)
    cols = torch.where(flip.to(dev)[:, None], cols.flip(1), cols)
    # One flat index per output pixel, shared by the channels (expand: no copy). A gather along
    # one dim is ~5x faster on CPU than advanced indexing with four broadcast index tensors.
    flat = (rows[:, :, None] * width + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    return padded.gather(2, flat).view(n, c, h, w)


class Normalizer:
    """uint8 images -> normalised float tensors on a device (optionally channels_last)."""

    def __init__(
        self,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        *,
        device: torch.device,
        channels_last: bool = False,
    ) -> None:
        self.scale = (1.0 / (255.0 * torch.tensor(std, device=device))).view(1, -1, 1, 1)
        self.shift = (-torch.tensor(mean, device=device) / torch.tensor(std, device=device)).view(1, -1, 1, 1)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = x.float().mul_(self.scale).add_(self.shift)
        return out.contiguous(memory_format=self.memory_format)
