"""Data-parallel pieces of the CIFAR trainable: each rank's shard of an epoch, and sums over ranks.

A trial with ``resources.workers`` > 1 trains one model on several processes (ranks). Every
rank holds the whole in-memory train split and cuts its own batches from it: one permutation
per epoch, drawn from a generator seeded by ``(seed, epoch)`` so every rank draws the same
order, is split into global batches of ``batch_size`` and each global batch into ``world``
disjoint parts. Every example is seen exactly once per epoch, by one rank (the
``DistributedSampler`` contract without its padding), and every rank takes the same number of
steps, so the gradient all-reduce never waits on a rank that has run out of data.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

__all__ = ["Ranks", "epoch_generator", "halved_micro_batch", "oom_halved", "oom_halvings", "reduce_sums", "resume_dir",
           "resuming_from", "shard_batches"]


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in a data-parallel trial."""

    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @classmethod
    def current(cls) -> Ranks:
        """This process's rank and world size, from torch.distributed when it is initialised."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return cls(rank=dist.get_rank(), world=dist.get_world_size())
        return cls()


def epoch_generator(seed: int, epoch: int, *, stream: int = 0) -> torch.Generator:
    """A CPU generator for one epoch: same ``(seed, epoch, stream)``, same draws, on every rank.

    Deriving it from the epoch (instead of carrying one generator's state from epoch to epoch)
    lets a resumed trial draw what it would have drawn, with nothing per rank in the checkpoint.
    """
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 7 + stream)


def shard_batches(
    n: int, batch_size: int, *, ranks: Ranks, generator: torch.Generator
) -> list[tuple[torch.Tensor, int]]:
    """This rank's steps for one epoch of ``n`` examples in global batches of ``batch_size``.

    The last global batch, when it holds fewer examples than there are ranks, joins the one
    before it, so that no rank gets an empty step.

    Args:
        n: Examples in the train split (at least ``ranks.world``).
        batch_size: The global batch, summed over ranks.
        ranks: This process's rank and the world size.
        generator: The epoch's generator (the same state on every rank).

    Returns:
        Per step, this rank's index tensor and the global batch's size (its loss weight);
        the same number of steps on every rank.
    """
    if n < ranks.world:
        raise ValueError(f"{n} train examples cannot be shared by {ranks.world} workers; use a larger subset")
    order = torch.randperm(n, generator=generator)
    chunks = list(order.split(max(batch_size, ranks.world)))
    if len(chunks) > 1 and len(chunks[-1]) < ranks.world:
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return [(chunk.tensor_split(ranks.world)[ranks.rank], len(chunk)) for chunk in chunks]


def reduce_sums(values: list[float], *, ranks: Ranks, device: torch.device) -> list[float]:
    """The element-wise sum of ``values`` over all ranks (unchanged in a single process)."""
    if not ranks.distributed:
        return list(values)
    import torch.distributed as dist

    # float64 so that sums of per-example losses over a whole epoch lose nothing.
    buffer = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    return [float(v) for v in buffer.tolist()]


_RESUME_FROM: contextvars.ContextVar[str | None] = contextvars.ContextVar("hpo_resume_from", default=None)
_OOM_HALVINGS: contextvars.ContextVar[int] = contextvars.ContextVar("hpo_oom_halvings", default=0)
T = TypeVar("T")


@contextlib.contextmanager
def _bound(var: contextvars.ContextVar[T], value: T) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def resuming_from(directory: str) -> contextlib.AbstractContextManager[None]:
    """While a restored multi-worker trial's rank runs: the checkpoint directory it continues from."""
    return _bound(_RESUME_FROM, directory)


def oom_halved(times: int) -> contextlib.AbstractContextManager[None]:
    """While a multi-worker trial's rank runs: how often its driver halved the micro-batch after OOM."""
    return _bound(_OOM_HALVINGS, times)


def oom_halvings() -> int:
    """How often this multi-worker trial's micro-batch was halved after running out of memory.

    With ``failures.on_oom: halve_batch`` the trial's driver restarts the workers from the last
    checkpoint after an OOM, one halving more each time; each rank then trains on micro-batches
    of `halved_micro_batch` (gradient accumulation keeps the global batch).
    """
    return _OOM_HALVINGS.get()


def halved_micro_batch(batch_size: int, world: int, halvings: int) -> int:
    """One rank's micro-batch: its share of the global batch, halved ``halvings`` times (at least 1)."""
    return max(1, (-(-batch_size // world)) >> halvings)


def resume_dir() -> str | None:
    """The checkpoint directory a restored multi-worker trial's rank continues from, else None.

    Ray Train V2's ``get_checkpoint()`` only knows the checkpoints of the current run; a trial
    that Tune restores (``hpo resume``, a retry) starts a new run, so its driver hands every
    rank the checkpoint this way.
    """
    return _RESUME_FROM.get()
