"""The training loop of the CIFAR trainable, usable without Ray.

`Trainer` holds the model, optimiser, schedule, AMP scaler and RNG state of one trial;
`Trainer.epochs` yields one metrics dict per epoch. `train_epochs` is the one-call form.
The Ray trainable (`trainables.cifar.train_cifar`) is a thin wrapper around it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.errors import InputError
from hpo.trainables.batches import Normalizer, augment_batch, iter_batches
from hpo.trainables.config import ON_OOM, TrainConfig, parse_config
from hpo.trainables.data import DataSet, load_dataset, split_train_val
from hpo.trainables.device import describe_device, select_device
from hpo.trainables.distributed import Ranks, epoch_generator, halved_micro_batch, reduce_sums, shard_batches
from hpo.trainables.models import build_model

__all__ = ["OOM_FLOOR", "CheckpointError", "Trainer", "TrialOutOfMemoryError", "lr_factor", "train_epochs"]

logger = logging.getLogger(__name__)

OOM_FLOOR = 8  # smallest micro-batch halve_batch goes down to
STATE_FILE = "trainer.pt"


class CheckpointError(InputError, FileNotFoundError):
    """A directory that holds no checkpoint of the built-in cifar trainable."""


class TrialOutOfMemoryError(RuntimeError):
    """CUDA ran out of memory and the OOM policy could not (or was told not to) recover."""


def _to_cpu(obj: Any) -> Any:
    """A detached CPU copy of a (nested) state dict."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def model_for(cfg: TrainConfig, *, num_classes: int) -> nn.Module:
    """The network a config names, as the trainer builds it (``bench/trainable_throughput.py``'s limit too)."""
    return build_model(cfg.model, num_classes=num_classes, l1=cfg.l1, l2=cfg.l2, width=cfg.width, depth=cfg.depth,
                       dropout=cfg.dropout, weights=cfg.weights)


def optimizer_for(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """The optimizer a config names (SGD, or AdamW with ``momentum`` as beta1) over ``params``."""
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0,
                           weight_decay=cfg.weight_decay)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning rate's multiplier at ``step`` of ``total``: ``constant``, ``cosine`` to 0, or ``onecycle``."""
    t = min(step, total) / max(1, total)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if schedule == "onecycle":  # linear warm-up over the first 25%, then linear decay to 0
        return 0.1 + 0.9 * t / 0.25 if t < 0.25 else max(0.0, (1.0 - t) / 0.75)
    return 1.0


class Trainer:
    """One trial's training state and loop.

    Args:
        config: A trial config (dict of the keys in `trainables.config.DEFAULTS`) or a
            parsed `TrainConfig`.
        data: The whole data set; loaded from ``config`` when None.
        device: Where to train; default `select_device` (Ray's GPU, else CPU).
        on_oom: ``"fail"`` or ``"halve_batch"``.
        max_epochs: Epochs when the config sets no ``epochs`` (the sweep's max_t).
        seed: Seed when the config sets no ``seed`` (the sweep's seed).
        model: A ready model to use instead of building one from the config (tests).
        ranks: This process's place in a data-parallel trial (default: a single process).
            With ``world`` > 1 the model is wrapped in ``DistributedDataParallel`` (the
            process group must be up), each rank trains on its shard of every global batch
            of ``batch_size``, and the metrics are sums over ranks.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | TrainConfig,
        data: DataSet | None = None,
        *,
        device: torch.device | str | None = None,
        on_oom: str = "fail",
        max_epochs: int | None = None,
        seed: int | None = None,
        model: nn.Module | None = None,
        ranks: Ranks | None = None,
    ) -> None:
        cfg = config if isinstance(config, TrainConfig) else parse_config(config, max_epochs=max_epochs, seed=seed)
        if on_oom not in ON_OOM:
            raise ValueError(f"on_oom must be one of {', '.join(ON_OOM)}, got {on_oom!r}")
        self.cfg = cfg
        self.on_oom = on_oom
        self.ranks = ranks or Ranks()
        self.device = torch.device(device) if device is not None else select_device()
        cuda = self.device.type == "cuda"
        if data is None:
            data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
        self.dataset_name, self.num_classes = data.name, data.num_classes
        self.mean, self.std = data.mean, data.std
        split = split_train_val(data, subset=cfg.subset, val_fraction=cfg.val_fraction, seed=cfg.seed)
        # The whole (subset) train and val sets live on the trial's device; batches are cut there.
        self.train_x, self.train_y = split.train_x.to(self.device), split.train_y.to(self.device)
        self.val_x, self.val_y = split.val_x.to(self.device), split.val_y.to(self.device)

        torch.manual_seed(cfg.seed)
        self.generator = torch.Generator().manual_seed(cfg.seed + 1)
        self.channels_last = cfg.channels_last and cuda
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision) if cuda else None
        if cfg.precision != "fp32" and not cuda:
            logger.info("precision %s needs a GPU; training in fp32 on %s", cfg.precision, self.device)
        net = model if model is not None else model_for(cfg, num_classes=self.num_classes)
        self.model = net.to(
            self.device, memory_format=torch.channels_last if self.channels_last else torch.preserve_format
        )
        self.ddp: nn.Module | None = None
        if self.ranks.distributed:
            from torch.nn.parallel import DistributedDataParallel

            # Broadcasts rank 0's initial weights; self.model stays the bare module (checkpoints).
            self.ddp = DistributedDataParallel(self.model, device_ids=[self.device.index] if cuda else None)
        self.normalize = Normalizer(self.mean, self.std, device=self.device, channels_last=self.channels_last)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        self.optimizer = optimizer_for(cfg, self.model.parameters())
        self.steps_per_epoch = len(self._steps(0))
        total = cfg.epochs * self.steps_per_epoch
        self.total_steps = total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(cfg.schedule, step, total)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda and cfg.precision == "fp16")
        self.epoch = 0
        # One rank's share of each global batch (the whole batch in one process): what it trains at once.
        self.micro_batch = halved_micro_batch(cfg.batch_size, self.ranks.world, 0)
        self.oom_halvings = 0

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    # -- one epoch ---------------------------------------------------------------------------

    def _steps(self, epoch: int) -> list[tuple[torch.Tensor, int]]:
        """This process's (indices, global batch size) per step of ``epoch``."""
        n = self.train_x.shape[0]
        if not self.ranks.distributed:  # one generator for order and augmentation, as it always was
            return [(idx, len(idx)) for idx in iter_batches(n, self.cfg.batch_size, generator=self.generator)]
        order = epoch_generator(self.cfg.seed, epoch)
        return shard_batches(n, self.cfg.batch_size, ranks=self.ranks, generator=order)

    def _train_pass(self) -> tuple[float, float, int]:
        self.model.train()
        net = self.ddp if self.ddp is not None else self.model
        world = self.ranks.world
        augment_gen = (epoch_generator(self.cfg.seed, self.epoch, stream=1 + self.ranks.rank)
                       if self.ranks.distributed else self.generator)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        seen = 0
        for idx, global_size in self._steps(self.epoch):
            idx = idx.to(self.device)
            seen += len(idx)
            # index_select, not x[idx]: the same rows, 20-40x faster on CPU (whole rows copied at once).
            xb, yb = self.train_x.index_select(0, idx), self.train_y.index_select(0, idx)
            if self.cfg.augment:
                xb = augment_batch(xb, generator=augment_gen)
            xb = self.normalize(xb)
            self.optimizer.zero_grad(set_to_none=True)
            starts = range(0, len(idx), self.micro_batch)
            for j, start in enumerate(starts):
                xs, ys = xb[start : start + self.micro_batch], yb[start : start + self.micro_batch]
                # DDP all-reduces gradients on the last micro-batch's backward only.
                sync = self.ddp is None or j == len(starts) - 1
                with contextlib.nullcontext() if sync else self.ddp.no_sync():  # type: ignore[union-attr]
                    with self._autocast():
                        out = net(xs)
                        loss = self.criterion(out, ys)
                    # Each micro-batch's mean loss weighted by its share of the global batch; DDP
                    # averages over ranks (hence * world): the gradient is the global batch's.
                    self.scaler.scale(loss * (len(ys) * world / global_size)).backward()
                loss_sum += loss.detach().float() * len(ys)
                correct += (out.detach().argmax(1) == ys).sum()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
        total_loss, total_correct, n = reduce_sums([float(loss_sum), float(correct), float(seen)],
                                                   ranks=self.ranks, device=self.device)
        return total_loss / n, total_correct / n, int(n)

    def _eval_sums(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        self.model.eval()
        loss_sum, correct = 0.0, 0
        batch = max(self.micro_batch, 256)
        with torch.inference_mode():
            for start in range(0, x.shape[0], batch):
                xs = self.normalize(x[start : start + batch].to(self.device))
                ys = y[start : start + batch].to(self.device)
                with self._autocast():
                    out = self.model(xs)
                loss_sum += float(nn.functional.cross_entropy(out.float(), ys, reduction="sum"))
                correct += int((out.argmax(1) == ys).sum())
        return loss_sum, correct

    def _evaluate_val(self) -> tuple[float, float]:
        """Val loss and accuracy; data-parallel: each rank scores its slice, the sums all-reduced."""
        if not self.ranks.distributed:
            return self.evaluate(self.val_x, self.val_y)
        import torch.distributed as dist

        for buffer in self.model.buffers():  # e.g. BatchNorm statistics: every rank scores rank 0's model
            dist.broadcast(buffer, src=0)
        part = torch.arange(self.val_x.shape[0]).tensor_split(self.ranks.world)[self.ranks.rank]
        loss_sum, correct = self._eval_sums(self.val_x[part], self.val_y[part])
        total_loss, total_correct = reduce_sums([loss_sum, float(correct)], ranks=self.ranks, device=self.device)
        n = self.val_x.shape[0]
        return total_loss / n, total_correct / n

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Mean loss and accuracy on uint8 images ``x`` and labels ``y`` (no augmentation), in this process."""
        loss_sum, correct = self._eval_sums(x, y)
        return loss_sum / x.shape[0], correct / x.shape[0]

    def _oom_message(self) -> str:
        peak = torch.cuda.max_memory_allocated(self.device) / 1e9 if self.device.type == "cuda" else 0.0
        where = describe_device(self.device)
        return f"CUDA out of memory at batch_size={self.micro_batch} on {where} (peak {peak:.1f} GB)"

    def train_epoch(self) -> dict[str, Any]:
        """Train one epoch and evaluate on the val split; returns that epoch's metrics.

        On ``torch.cuda.OutOfMemoryError``: with ``on_oom="fail"`` raises
        `TrialOutOfMemoryError`; with ``"halve_batch"`` restores the state from the start of
        the epoch, halves the micro-batch (gradient accumulation keeps the effective batch)
        and runs the epoch again, down to `OOM_FLOOR`.
        """
        cuda = self.device.type == "cuda"
        # Data-parallel: the other ranks wait in a collective the failing rank left, so an OOM
        # ends the attempt (the trial fails, and is retried per failures.max_retries).
        halve = self.on_oom == "halve_batch" and not self.ranks.distributed
        snapshot = _to_cpu(self.state_dict()) if halve else None
        while True:
            if cuda:
                torch.cuda.reset_peak_memory_stats(self.device)
            start = time.perf_counter()
            try:
                train_loss, train_acc, n = self._train_pass()
                if cuda:
                    torch.cuda.synchronize(self.device)
                train_time = time.perf_counter() - start
                val_loss, val_acc = self._evaluate_val()
                break
            except torch.cuda.OutOfMemoryError:
                message = self._oom_message()
                if snapshot is None:
                    raise TrialOutOfMemoryError(message) from None
                if self.micro_batch // 2 < OOM_FLOOR:
                    raise TrialOutOfMemoryError(f"{message}; halve_batch is at its floor of {OOM_FLOOR}") from None
            # Outside the except block, so the exception's frames (and their tensors) are freed.
            self.optimizer.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.empty_cache()
            halved = self.micro_batch // 2
            logger.warning("%s; retrying the epoch with micro-batch %d", message, halved)
            halvings = self.oom_halvings + 1
            self.load_state_dict(snapshot)
            self.micro_batch, self.oom_halvings = halved, halvings
        self.epoch += 1
        metrics: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "epoch_time_s": time.perf_counter() - start,
            "images_per_s": n / train_time,
            "lr": float(self.scheduler.get_last_lr()[0]),
            "batch_size": self.cfg.batch_size,
            "micro_batch_size": self.micro_batch,
            "oom_halvings": self.oom_halvings,
        }
        if cuda:
            metrics["gpu_mem_peak_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
        return metrics

    def epochs(self) -> Iterator[dict[str, Any]]:
        """Train from the current epoch up to ``cfg.epochs``, yielding metrics per epoch."""
        while self.epoch < self.cfg.epochs:
            yield self.train_epoch()

    # -- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimiser, schedule, scaler, RNG."""
        rng: dict[str, Any] = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "micro_batch": self.micro_batch,
            "oom_halvings": self.oom_halvings,
            "rng": rng,
            "config": self.cfg.to_dict(),
            "data": {
                "name": self.dataset_name,
                "num_classes": self.num_classes,
                "mean": self.mean,
                "std": self.std,
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a `state_dict` (tensors are moved to this trainer's device)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.micro_batch = int(state.get("micro_batch", self.cfg.batch_size))
        self.oom_halvings = int(state.get("oom_halvings", 0))
        rng = state["rng"]
        self.generator.set_state(rng["generator"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self._apply_config(state.get("config") or {})

    def _apply_config(self, saved: Mapping[str, Any]) -> None:
        """Put this trainer's config in effect over a loaded state.

        The optimiser's state dict carries the lr, momentum and weight decay the checkpoint was
        trained with, and the schedule its base lr. After PBT's exploit the trial resumes from
        another trial's checkpoint with a mutated config: without this the mutation would be
        silently dropped. Model shape, data and optimiser type are fixed by the checkpoint (the
        contract marks them mutable=False, so PBT never changes them).
        """
        c = self.cfg
        changed = {k: (saved[k], v) for k, v in c.to_dict().items() if k in saved and saved[k] != v}
        if changed:
            logger.info("config differs from the checkpoint's; applying %s",
                        ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items())))
        factor = lr_factor(c.schedule, self.scheduler.last_epoch, self.total_steps)
        self.scheduler.base_lrs = [c.lr for _ in self.optimizer.param_groups]
        for group in self.optimizer.param_groups:
            group["initial_lr"] = c.lr
            group["lr"] = c.lr * factor
            group["weight_decay"] = c.weight_decay
            if "betas" in group:  # adamw: momentum is beta1
                group["betas"] = (c.momentum, group["betas"][1])
            else:
                group["momentum"] = c.momentum
                group["nesterov"] = c.nesterov and c.momentum > 0
        self.micro_batch = min(self.micro_batch, c.batch_size)

    def save(self, directory: str | Path) -> Path:
        """Write the state (and ``config.json``) into ``directory``; returns the state file."""
        path = Path(directory) / STATE_FILE
        torch.save(self.state_dict(), path)
        # The resolved config beside the state, readable without torch (pytorch-template habit).
        config = json.dumps(self.cfg.to_dict(), indent=1, sort_keys=True)
        (Path(directory) / "config.json").write_text(config + "\n")
        return path

    def restore(self, directory: str | Path) -> None:
        """Load the state `save` wrote into ``directory``."""
        self.load_state_dict(load_state(directory, map_location=self.device))

    def halve_for_oom(self, times: int) -> None:
        """A multi-worker trial restarted after running out of memory: train this rank's share of
        each global batch in micro-batches halved ``times`` (a restored count, if larger, stands)."""
        if times > self.oom_halvings:
            self.micro_batch = halved_micro_batch(self.cfg.batch_size, self.ranks.world, times)
            self.oom_halvings = times


def load_state(directory: str | Path, *, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint directory's saved trainer state."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"checkpoint {directory}: no {STATE_FILE} in it (not a cifar trainable checkpoint)")
    return torch.load(path, map_location=map_location, weights_only=True)


def train_epochs(
    config: Mapping[str, Any],
    data: DataSet | None = None,
    *,
    device: torch.device | str | None = None,
    on_oom: str = "fail",
    max_epochs: int | None = None,
    seed: int | None = None,
    resume_from: str | Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Run the CIFAR training loop without Ray, yielding one metrics dict per epoch.

    Args:
        config: Trial config (keys of `trainables.config.DEFAULTS`).
        data: Preloaded data set; loaded from the config when None.
        device: Training device; default `select_device`.
        on_oom: ``"fail"`` or ``"halve_batch"``.
        max_epochs: Epochs when the config has no ``epochs``.
        seed: Seed when the config has no ``seed``.
        resume_from: A checkpoint directory to continue from.
    """
    trainer = Trainer(config, data, device=device, on_oom=on_oom, max_epochs=max_epochs, seed=seed)
    if resume_from is not None:
        trainer.restore(resume_from)
    yield from trainer.epochs()
