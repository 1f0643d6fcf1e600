from __future__ import annotations

import torch

from hpo.trainables.batches import Normalizer, augment_batch, iter_batches


def test_iter_batches_covers_every_index_once() -> None:
    g = torch.Generator().manual_seed(0)
    batches = list(iter_batches(10, 4, generator=g))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert torch.cat(list(iter_batches(5, 2, generator=None))).tolist() == [0, 1, 2, 3, 4]


def test_augment_keeps_shape_dtype_and_is_a_crop_or_flip() -> None:
    x = torch.randint(1, 256, (64, 3, 32, 32), dtype=torch.uint8)  # no zeros: padding is visible
    out = augment_batch(x, generator=torch.Generator().manual_seed(0), pad=4)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    kinds = set()
    for i in range(64):
        match = None
        for dy in range(9):
            for dx in range(9):
                crop = padded[i, :, dy : dy + 32, dx : dx + 32]
                if torch.equal(out[i], crop):
                    match = ("crop", dy, dx)
                elif torch.equal(out[i], crop.flip(2)):
                    match = ("flip", dy, dx)
        assert match is not None, f"image {i} is neither a crop nor a flipped crop"
        kinds.add(match[0])
        kinds.add("shifted" if match[1:] != (4, 4) else "centred")
    assert {"crop", "flip", "shifted"} <= kinds


def test_augment_is_seeded() -> None:
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    a = augment_batch(x, generator=torch.Generator().manual_seed(5))
    b = augment_batch(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_augment_matches_a_per_image_crop_of_the_same_draws() -> None:
    # The draws (offsets, then flips) and their use are pinned: a resumed trial replays them.
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out = augment_batch(x, generator=torch.Generator().manual_seed(7), pad=4)
    g = torch.Generator().manual_seed(7)
    offsets = torch.randint(0, 9, (2, 16), generator=g)
    flip = torch.rand(16, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(16):
        dy, dx = int(offsets[0, i]), int(offsets[1, i])
        crop = padded[i, :, dy : dy + 32, dx : dx + 32]
        assert torch.equal(out[i], crop.flip(2) if flip[i] else crop)


def test_normalizer_matches_reference() -> None:
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    out = Normalizer(mean, std, device=torch.device("cpu"))(x)
    ref = (x.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)
