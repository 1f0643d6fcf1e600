"""Multi-worker trials: each Tune trial drives one Ray Train ``TorchTrainer`` of N workers.

Ray 2.60 runs Ray Train V2, where a Trainer is no longer handed to the Tuner: a Tune function
trainable (the trial's *driver*) builds and fits the ``TorchTrainer`` itself. The driver holds
no CPU or GPU (Tune needs a non-empty bundle: it holds a little memory); the N workers are one
placement group of N ``{cpu, gpu}`` bundles that Ray Train reserves. Because Tune does not see
those, the engine caps concurrent trials at what the workers' slots hold (the plan's
``concurrency``).

What makes Tune's schedulers, the store and ``hpo resume`` work unchanged: a Ray Train callback
on the Train controller passes every round of reports (rank 0's metrics: the cifar trainable's
are sums over ranks) and the persisted checkpoint to the driver through a queue, and the driver
calls ``tune.report(metrics, checkpoint=...)``, so Tune counts iterations, stops trials, and keeps
the checkpoints itself. A restored or retried trial starts its ``TorchTrainer`` from
``tune.get_checkpoint()`` (``resume_from_checkpoint``), which its workers read with
``ray.train.get_checkpoint()``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

__all__ = ["DRIVER_MEMORY", "multi_worker_trainable"]

logger = logging.getLogger(__name__)

DRIVER_MEMORY = 64 * 2**20  # bytes the driver bundle holds; a bundle cannot be empty
_DONE = "__hpo_train_done__"


def _to_tune_callback(queue: Any) -> Any:
    from ray.train.v2.api.callback import UserCallback

    class ToTune(UserCallback):  # type: ignore[misc]
        """Runs on the Train controller: hands each round of reports to the trial's driver."""

        def __init__(self) -> None:
            self.queue = queue

        def after_report(self, run_context: Any, metrics: list[dict[str, Any]], checkpoint: Any) -> None:
            self.queue.put((dict(metrics[0]), checkpoint))

    return ToTune()


def _fit(trainer: Any, queue: Any, outcome: dict[str, Any]) -> None:
    try:
        trainer.fit()
    except BaseException as exc:  # handed to the driver's thread, which raises it to Tune
        outcome["error"] = exc
    finally:
        queue.put(_DONE)


def multi_worker_trainable(loop: Any, *, workers: int, cpu: float, gpu: float, storage: str, sweep: str) -> Any:
    """A Tune function trainable whose every trial runs ``loop`` on ``workers`` Ray Train workers.

    Args:
        loop: The per-worker training function ``loop(config)``; it reports with
            ``ray.train.report`` on every rank (rank 0 with the checkpoint).
        workers: Workers per trial.
        cpu: CPUs per worker.
        gpu: GPUs per worker (> 0: NCCL and one device per worker; 0: gloo on CPUs).
        storage: Ray's storage path of the sweep; Train's own run folders go under
            ``<storage>/_train/<sweep>`` and are removed once the trial's driver ends.
        sweep: The sweep's name.

    Returns:
        The driver, with its resources attached (``tune.with_resources``).
    """
    from ray import tune
    from ray.tune import PlacementGroupFactory

    per_worker = {k: v for k, v in (("CPU", float(cpu)), ("GPU", float(gpu))) if v > 0}
    train_root = f"{storage.rstrip('/')}/_train/{sweep}"

    def drive_workers(config: dict[str, Any]) -> None:
        import ray.train
        from ray.train.torch import TorchConfig, TorchTrainer
        from ray.util.queue import Queue

        queue = Queue(actor_options={"num_cpus": 0})
        run_name = f"{tune.get_context().get_trial_id()}-{uuid.uuid4().hex[:8]}"
        trainer = TorchTrainer(
            loop,
            train_loop_config=dict(config),
            torch_config=TorchConfig(backend="nccl" if gpu > 0 else "gloo"),
            scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=gpu > 0,
                                                   resources_per_worker=per_worker),
            run_config=ray.train.RunConfig(
                name=run_name,
                storage_path=train_root,
                callbacks=[_to_tune_callback(queue)],
                # Tune retries a failed trial (failures.max_retries) from its own checkpoint.
                failure_config=ray.train.FailureConfig(max_failures=0),
                checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            ),
            resume_from_checkpoint=tune.get_checkpoint(),
        )
        outcome: dict[str, Any] = {}
        fitting = threading.Thread(target=_fit, args=(trainer, queue, outcome), name="hpo-train-fit", daemon=True)
        fitting.start()
        try:
            while (item := queue.get()) != _DONE:
                metrics, checkpoint = item
                tune.report(metrics, checkpoint=checkpoint)
            fitting.join()
        finally:
            local = Path(train_root) / run_name
            if "://" not in train_root and local.is_dir():
                shutil.rmtree(local, ignore_errors=True)  # Tune holds its own copy of each checkpoint
        if "error" in outcome:
            raise outcome["error"]

    drive_workers.__name__ = getattr(loop, "__name__", "trainable")
    drive_workers.__qualname__ = drive_workers.__name__
    drive_workers.__hpo_multi_worker__ = True  # type: ignore[attr-defined]
    # A Tune actor reused for the next trial would keep this one's Train run alive in its thread.
    return tune.with_resources(drive_workers, PlacementGroupFactory([{"memory": DRIVER_MEMORY}]))
