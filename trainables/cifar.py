"""The built-in ``cifar`` Ray Tune trainable, its driver-side prepare hook, and evaluation.

``prepare_cifar`` runs once in the driver: it loads the data set named by the sweep's fixed
config into uint8 tensors and puts it in Ray's object store once (`trainables.shared`), so trials
read the one copy instead of the files. ``train_cifar`` is a thin wrapper over
`trainables.training.Trainer`: resume from ``tune.get_checkpoint()``, then per epoch
``tune.report(metrics, checkpoint=...)``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpo.trainables.config import DEFAULTS, parse_config
from hpo.trainables.data import DataSet, load_dataset, split_train_val
from hpo.trainables.registry import RunContext
from hpo.trainables.shared import SharedData

__all__ = ["evaluate_checkpoint", "prepare_cifar", "train_cifar"]

logger = logging.getLogger(__name__)


def train_cifar(
    config: dict[str, Any],
    data: DataSet | SharedData | None = None,
    *,
    max_epochs: int | None = None,
    on_oom: str = "fail",
    seed: int | None = None,
) -> None:
    """Ray Tune function trainable: train a CIFAR classifier, report and checkpoint per epoch.

    Run as one rank of a multi-worker trial (a Ray Train worker with torch.distributed up), it
    trains its shard data-parallel and reports through Ray Train; ``batch_size`` stays the
    global batch, so a trial's results do not depend on how many workers train it.

    Args:
        config: The trial config (keys in `trainables.config.DEFAULTS`).
        data: The data set (or the `SharedData` holding it) the prepare hook shipped; loaded
            here when None or when the trial's config names another data set than the one shipped.
        max_epochs: Epochs when the config has no ``epochs`` (the sweep's max_t).
        on_oom: ``"fail"`` or ``"halve_batch"``.
        seed: Seed when the config has no ``seed``.
    """
    from hpo.trainables.device import select_device, set_cpu_threads, trial_cpus
    from hpo.trainables.distributed import Ranks, oom_halvings, resume_dir
    from hpo.trainables.training import Trainer

    cfg = parse_config(config, max_epochs=max_epochs, seed=seed)
    ranks = Ranks.current()
    if ranks.distributed:  # one rank of a multi-worker trial: Ray Train's session
        import ray
        import ray.train as session
        import ray.train.torch

        device = ray.train.torch.get_device()
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
        if device.type == "cpu":
            set_cpu_threads(max(1, int(cpus)) if cpus else None)
    else:
        from ray import tune as session  # type: ignore[no-redef]

        device = select_device()
        if device.type == "cpu":
            set_cpu_threads(trial_cpus())
    if isinstance(data, SharedData):
        data = data.get()
    if data is None or data.name != cfg.dataset:
        data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
    trainer = Trainer(cfg, data, device=device, on_oom=on_oom, ranks=ranks)
    checkpoint = session.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            trainer.restore(directory)
        logger.info("resumed from epoch %d", trainer.epoch)
    elif ranks.distributed and (resume_from := resume_dir()) is not None:  # a restored multi-worker trial
        trainer.restore(resume_from)
        logger.info("resumed from epoch %d", trainer.epoch)
    if ranks.distributed:  # restarted after running out of memory (on_oom: halve_batch)
        trainer.halve_for_oom(oom_halvings())
    for metrics in trainer.epochs():
        # Every rank reports (Ray Train waits for all); the metrics are already sums over ranks,
        # and rank 0 alone writes the checkpoint, the weights being the same on every rank.
        if ranks.rank != 0:
            session.report(metrics)
            continue
        with tempfile.TemporaryDirectory() as directory:
            trainer.save(directory)
            session.report(metrics, checkpoint=session.Checkpoint.from_directory(directory))


def prepare_cifar(fn: Callable[..., Any], ctx: RunContext) -> Any:
    """Driver-side hook for ``cifar``: load the data set once, ship it via the object store.

    The data set is the one the sweep's ``fixed`` config names (``dataset``, ``data_dir``,
    ``download``; defaults otherwise). A trial whose config names another data set (e.g.
    ``dataset`` searched) loads its own. The trainable carries the data set's `SharedData`
    (a name), not the data: the sweep frees the object when it ends.
    """
    cfg = parse_config({k: v for k, v in ctx.fixed.items() if k in DEFAULTS}, max_epochs=ctx.max_epochs, seed=ctx.seed)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
    logger.info(
        "loaded %s: %d train / %d test images (%s)",
        data.name,
        len(data.train_y),
        len(data.test_y),
        data.source,
    )
    shared = SharedData(data)
    options = {"max_epochs": ctx.max_epochs, "on_oom": ctx.on_oom, "seed": ctx.seed}

    def trainable(config: dict[str, Any]) -> None:
        return fn(config, data=shared, **options)

    trainable.__name__ = trainable.__qualname__ = getattr(fn, "__name__", "train_cifar")
    return trainable


def evaluate_checkpoint(
    checkpoint_path: str | Path,
    *,
    split: str = "test",
    data: DataSet | None = None,
    data_dir: str | Path | None = None,
    device: Any = None,
) -> dict[str, Any]:
    """Evaluate a ``cifar`` trial checkpoint on the test (or val) split.

    The checkpoint is self-describing: it holds the resolved config, so the same model and
    data set are rebuilt from it.

    Args:
        checkpoint_path: A checkpoint directory written by `train_cifar`.
        split: ``"test"`` (the held-out test set) or ``"val"`` (the trial's val split).
        data: A preloaded data set; loaded from the checkpoint's config when None.
        data_dir: Overrides the checkpoint's ``data_dir`` (e.g. on another machine).
        device: Evaluation device; default `select_device`.

    Returns:
        ``{"split", "loss", "acc", "n", "epoch", "dataset", "model"}``.
    """
    from hpo.trainables.training import Trainer, load_state

    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    state = load_state(checkpoint_path)
    config = dict(state["config"])
    if data_dir is not None:
        config["data_dir"] = str(data_dir)
    if data is None:
        data = load_dataset(config["dataset"], data_dir=config["data_dir"], download=config["download"])
    trainer = Trainer(config, data, device=device)
    trainer.model.load_state_dict(state["model"])
    if split == "test":
        loss, acc = trainer.evaluate(data.test_x, data.test_y)
        n = len(data.test_y)
    else:
        s = split_train_val(data, subset=config["subset"], val_fraction=config["val_fraction"], seed=config["seed"])
        loss, acc = trainer.evaluate(s.val_x, s.val_y)
        n = len(s.val_y)
    return {
        "split": split,
        "loss": loss,
        "acc": acc,
        "n": n,
        "epoch": int(state["epoch"]),
        "dataset": config["dataset"],
        "model": config["model"],
    }
