"""Multi-worker trials: each Tune trial drives one Ray Train ``TorchTrainer`` of N workers.

Ray 2.60 runs Ray Train V2, where a Trainer is no longer handed to the Tuner: a Tune function
trainable (the trial's *driver*) builds and fits the ``TorchTrainer`` itself. The driver holds
no CPU or GPU (Tune needs a non-empty bundle: it holds a little memory); the N workers are one
placement group of N ``{cpu, gpu}`` bundles that Ray Train reserves. Because Tune does not see
those, the engine caps concurrent trials at what the workers' slots hold (the plan's
``concurrency``).

What makes Tune's schedulers, the store and ``hpo resume`` work unchanged: a Ray Train callback
on the Train controller passes every round of reports (rank 0's metrics: the cifar trainable's
are sums over ranks) and the persisted checkpoint to the driver through a queue; the driver (a
``tune.Trainable``) returns the metrics from ``step`` and hands Tune the checkpoint in
``save_checkpoint``, so Tune counts iterations, stops trials, and keeps the checkpoints itself.
A restored or retried trial starts a new ``TorchTrainer`` whose ranks get that checkpoint (its
files travel with their function, so a rank on any node has them) from
``trainables.distributed.resume_dir()``: Train V2 refuses ``resume_from_checkpoint``, and its
``get_checkpoint()`` only knows the checkpoints of the current run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ray import tune
from ray.train import UserCallback

__all__ = ["DRIVER_MEMORY", "DataParallelTrial", "ToTune", "WorkerSettings", "multi_worker_trainable"]

logger = logging.getLogger(__name__)

DRIVER_MEMORY = 64 * 2**20  # bytes the driver bundle holds; a bundle cannot be empty
_DONE = "__hpo_train_done__"


@dataclass(frozen=True)
class WorkerSettings:
    """How a sweep's multi-worker trials run (see :func:`multi_worker_trainable` for each field)."""

    loop: Any
    workers: int
    cpu: float
    gpu: float
    train_root: str  # Train's own run folders: <storage>/_train/<sweep>
    on_oom: str = "fail"

    @property
    def per_worker(self) -> dict[str, float]:
        """Each worker's bundle."""
        return {k: v for k, v in (("CPU", float(self.cpu)), ("GPU", float(self.gpu))) if v > 0}


class ToTune(UserCallback):  # type: ignore[misc]
    """Runs on the Train controller: hands each round of reports to the trial's driver (Ray Train V2's public
    ``ray.train.UserCallback``; module level, so the controller imports it by name)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def after_report(self, run_context: Any, metrics: list[dict[str, Any]], checkpoint: Any) -> None:
        self.queue.put(("result", dict(metrics[0]), checkpoint))


def _pack(directory: Path) -> dict[str, bytes]:
    """A checkpoint directory's files, to travel with the ranks' function to any node."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def _run_rank(loop: Any, queue: Any, resume: dict[str, bytes] | None, halvings: int, config: dict[str, Any]) -> None:
    """One Train worker: rank 0 first tells the driver the workers' placement group; a restored
    trial's ranks unpack its checkpoint and find the directory in ``trainables.distributed.resume_dir()``;
    after an OOM, ``trainables.distributed.oom_halvings()`` says how often to halve the micro-batch."""
    import ray.train
    from ray.util import get_current_placement_group

    from hpo.trainables.distributed import oom_halved, resuming_from

    if ray.train.get_context().get_world_rank() == 0:
        queue.put(("placement_group", get_current_placement_group(), None))
    with contextlib.ExitStack() as stack:
        stack.enter_context(oom_halved(halvings))
        if resume is not None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="hpo-resume-"))
            for name, payload in resume.items():
                target = Path(directory, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(payload)
            stack.enter_context(resuming_from(directory))
        loop(config)


def _fit(trainer: Any, queue: Any, outcome: dict[str, Any]) -> None:
    try:
        trainer.fit()
    except BaseException as exc:  # handed to step(), which raises it to Tune
        outcome["error"] = exc
    finally:
        queue.put((_DONE, None, None))


def _out_of_memory(exc: BaseException) -> bool:
    """Whether a rank ran out of memory: Ray Train wraps the rank's error, whose text it keeps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in ("TrialOutOfMemoryError", "OutOfMemoryError") or "out of memory" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


class DataParallelTrial(tune.Trainable):
    """A trial's driver: fits a ``TorchTrainer`` of ``settings.workers`` workers and passes its reports to Tune.

    A class, not a function trainable, for its ``cleanup``: when Tune stops a trial (a scheduler,
    a stop criterion), the workers' placement group is removed there. Ray Train's own cleaner
    needs the State API (the dashboard), which a local hpo Ray does not start, and a placement
    group outlives the actor that created it. A sweep runs a subclass holding its ``settings``
    (:func:`multi_worker_trainable`).
    """

    settings: ClassVar[WorkerSettings]

    def setup(self, config: dict[str, Any]) -> None:
        self._config = dict(config)
        self._resume: Any = None
        self._latest: Any = None
        self._queue: Any = None
        self._pg: Any = None
        self._outcome: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._halvings = 0
        self._runs: list[str] = []

    def _start(self) -> None:
        import ray.train
        from ray.train.torch import TorchConfig, TorchTrainer
        from ray.util.queue import Queue

        run = self.settings
        self._queue = Queue(actor_options={"num_cpus": 0})
        self._runs.append(f"{self.trial_id}-{uuid.uuid4().hex[:8]}")
        trainer = TorchTrainer(
            functools.partial(_run_rank, run.loop, self._queue, self._resume, self._halvings),
            train_loop_config=self._config,
            torch_config=TorchConfig(backend="nccl" if run.gpu > 0 else "gloo"),
            scaling_config=ray.train.ScalingConfig(num_workers=run.workers, use_gpu=run.gpu > 0,
                                                   resources_per_worker=run.per_worker),
            run_config=ray.train.RunConfig(
                name=self._runs[-1],
                storage_path=run.train_root,
                callbacks=[ToTune(self._queue)],
                # Tune retries a failed trial (failures.max_retries) from its own checkpoint.
                failure_config=ray.train.FailureConfig(max_failures=0),
                checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            ),
        )
        threading.Thread(target=_fit, args=(trainer, self._queue, self._outcome), name="hpo-train-fit",
                         daemon=True).start()

    def step(self) -> dict[str, Any]:
        if self._queue is None:
            self._start()
        while True:
            kind, payload, checkpoint = self._queue.get()
            if kind == "placement_group":
                self._pg = payload
            elif kind == "result":
                self._latest, self._last = checkpoint, payload
                return payload
            else:
                error = self._outcome.pop("error", None)
                if error is not None and (micro := self._halved_after(error)) is not None:
                    self._restart_halved(micro)
                    continue
                if error is not None:
                    raise error
                # The loop ended before Tune's stop criteria did (fewer epochs than max_t).
                return {**self._last, "done": True}

    def _halved_after(self, error: BaseException) -> int | None:
        """The micro-batch per worker to go on with after ``error``; None: the error stands."""
        from hpo.trainables.distributed import halved_micro_batch
        from hpo.trainables.training import OOM_FLOOR

        batch = self._config.get("batch_size")
        if self.settings.on_oom != "halve_batch" or not isinstance(batch, int) or not _out_of_memory(error):
            return None
        micro = halved_micro_batch(batch, self.settings.workers, self._halvings + 1)
        if micro < OOM_FLOOR:
            logger.warning("trial %s ran out of memory; halve_batch is at its floor of %d per worker",
                           self.trial_id, OOM_FLOOR)
            return None
        return micro

    def _restart_halved(self, micro: int) -> None:
        """New workers, from the last checkpoint (the failed epoch again), one halving more."""
        self._halvings += 1
        self._remove_placement_group()
        if self._latest is not None:
            with tempfile.TemporaryDirectory(prefix="hpo-oom-") as directory:
                self._latest.to_directory(directory)
                self._resume = _pack(Path(directory))
        logger.warning("trial %s ran out of memory: restarting its %d workers from the last checkpoint "
                       "with micro-batch %d per worker", self.trial_id, self.settings.workers, micro)
        self._start()

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        if self._latest is not None:
            self._latest.to_directory(checkpoint_dir)

    def load_checkpoint(self, checkpoint: str | dict[str, Any] | None) -> None:
        if isinstance(checkpoint, str) and any(Path(checkpoint).iterdir()):
            self._resume = _pack(Path(checkpoint))  # ranks may run on other nodes: send the files

    def _remove_placement_group(self) -> None:
        if self._pg is not None:
            from ray.util import remove_placement_group

            try:
                remove_placement_group(self._pg)  # ends the workers with it
            except Exception:  # already removed by Ray Train at the end of its run
                logger.debug("placement group of %s already removed", self.trial_id, exc_info=True)
            self._pg = None

    def cleanup(self) -> None:
        self._remove_placement_group()
        root = self.settings.train_root
        for run in self._runs:
            local = Path(root) / run
            if "://" not in root and local.is_dir():
                shutil.rmtree(local, ignore_errors=True)  # Tune holds its own copy of each checkpoint

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> Any:
        return tune.PlacementGroupFactory([{"memory": DRIVER_MEMORY}])


def multi_worker_trainable(loop: Any, *, workers: int, cpu: float, gpu: float, storage: str, sweep: str,
                           on_oom: str = "fail") -> type[DataParallelTrial]:
    """A Tune ``Trainable`` whose every trial runs ``loop`` on ``workers`` Ray Train workers.

    Args:
        loop: The per-worker training function ``loop(config)``; it reports with
            ``ray.train.report`` on every rank (rank 0 with the checkpoint). In a restored trial,
            ``trainables.distributed.resume_dir()`` holds the checkpoint rank 0 last reported.
        workers: Workers per trial.
        cpu: CPUs per worker.
        gpu: GPUs per worker (> 0: NCCL and one device per worker; 0: gloo on CPUs).
        storage: Ray's storage path of the sweep; Train's own run folders go under
            ``<storage>/_train/<sweep>`` and are removed when the trial ends.
        sweep: The sweep's name.
        on_oom: ``"halve_batch"``: when a rank runs out of memory, the driver restarts the
            workers from the last checkpoint with the micro-batch halved (`trainables.distributed.oom_halvings`),
            down to ``OOM_FLOOR`` per rank; ``"fail"``: the attempt fails.

    Returns:
        A :class:`DataParallelTrial` subclass named after ``loop`` (Tune names the trials after it),
        holding only a little memory itself (its workers hold the rest).
    """
    settings = WorkerSettings(loop=loop, workers=workers, cpu=float(cpu), gpu=float(gpu),
                              train_root=f"{storage.rstrip('/')}/_train/{sweep}", on_oom=on_oom)
    name = getattr(loop, "__name__", "trainable")
    return type(name, (DataParallelTrial,), {"settings": settings, "__qualname__": name, "__module__": __name__})
