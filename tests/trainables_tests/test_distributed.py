"""Each rank's shard of an epoch: disjoint, covering the train split, same step count (no Ray)."""

from __future__ import annotations

import pytest
import torch

from hpo.trainables.distributed import Ranks, epoch_generator, shard_batches


@pytest.mark.parametrize(("n", "batch", "world"), [(100, 32, 2), (101, 16, 3), (65, 64, 2), (10, 3, 4)])
def test_shards_are_disjoint_cover_the_split_and_take_equal_steps(n: int, batch: int, world: int) -> None:
    shards = [shard_batches(n, batch, ranks=Ranks(rank=r, world=world), generator=epoch_generator(0, 1))
              for r in range(world)]
    seen = torch.cat([idx for shard in shards for idx, _ in shard])
    assert sorted(seen.tolist()) == list(range(n))  # every example once: disjoint and covering
    assert len({len(shard) for shard in shards}) == 1  # the same number of steps on every rank
    for step in zip(*shards, strict=True):
        assert all(len(idx) > 0 for idx, _ in step)
        assert sum(len(idx) for idx, _ in step) == step[0][1]  # the parts make up the global batch


def test_each_epoch_draws_a_new_order_and_the_same_epoch_the_same_one() -> None:
    ranks = Ranks(rank=0, world=2)
    first = shard_batches(64, 16, ranks=ranks, generator=epoch_generator(0, 0))[0][0]
    again = shard_batches(64, 16, ranks=ranks, generator=epoch_generator(0, 0))[0][0]
    second = shard_batches(64, 16, ranks=ranks, generator=epoch_generator(0, 1))[0][0]
    assert torch.equal(first, again)
    assert not torch.equal(first, second)


def test_more_workers_than_examples_is_refused() -> None:
    with pytest.raises(ValueError, match="3 train examples cannot be shared by 4 workers; use a larger subset"):
        shard_batches(3, 2, ranks=Ranks(rank=0, world=4), generator=epoch_generator(0, 0))
