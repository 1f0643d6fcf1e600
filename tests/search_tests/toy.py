"""Tiny function trainables for the engine's tests: known optimum, failures, GPU probes.

Imported by the tests from this directory (pytest puts it on the driver's sys.path only),
so every sweep here also checks that a non-installed module reaches Ray's workers.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

from hpo.trainables import declare

OPTIMUM_X = 0.3


def _loss(config: dict[str, Any], t: int) -> float:
    return (float(config["x"]) - OPTIMUM_X) ** 2 + 1.0 / t


def quadratic(config: dict[str, Any]) -> None:
    """``loss = (x - 0.3)^2 + 1/t``: the best trial is the one with x nearest 0.3."""
    for t in range(1, int(config.get("max_iter", 8)) + 1):
        tune.report({"loss": _loss(config, t)})


def fails_until(config: dict[str, Any]) -> None:
    """``quadratic`` once the file ``ok_file`` exists; until then it raises before its first report (a bug
    the user fixes before `hpo resume --restart-errored`)."""
    if not Path(config["ok_file"]).exists():
        raise RuntimeError("planned failure: no ok_file yet")
    quadratic(config)


def _start(config: dict[str, Any]) -> int:
    ckpt = tune.get_checkpoint()
    if ckpt is None:
        return 0
    with ckpt.as_directory() as d:
        return int(Path(d, "t").read_text())


def _report_with_checkpoint(metrics: dict[str, Any], t: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "t").write_text(str(t))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))


def _await_file(path: Path, timeout_s: float = 300) -> None:
    """Wait for a test to create ``path``: a gate that holds a trial at a known iteration."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no one opened the gate {path}")
        time.sleep(0.1)


def checkpointed(config: dict[str, Any]) -> None:
    """Checkpoints every iteration, sleeps ``sleep`` s per iteration, resumes from its checkpoint.

    Reports ``loss`` (and ``cost`` when ``report_cost`` is set). Appends ``<trial_id> <t>`` to
    ``<out_dir>/iterations.txt`` per iteration when ``out_dir`` is set; from iteration ``hold_at``
    (default 2) on, waits for the file ``gate`` to exist when ``gate`` is set;
    raises at iteration ``fail_at`` of a first attempt when ``fail_at`` is set (and always when
    ``always_fail``).
    """
    start = _start(config)
    trial_id = tune.get_context().get_trial_id()
    out = config.get("out_dir")
    for t in range(start + 1, int(config.get("max_iter", 4)) + 1):
        if config.get("gate") and t >= int(config.get("hold_at", 2)):
            _await_file(Path(config["gate"]))
        time.sleep(float(config.get("sleep", 0.0)))
        if config.get("always_fail"):
            raise RuntimeError(f"boom in trial {trial_id}")
        if out:
            with open(Path(out, "iterations.txt"), "a") as f:
                f.write(f"{trial_id} {t}\n")
        metrics = {"loss": _loss(config, t)}
        if config.get("report_cost"):  # a second objective, for sweeps with several
            metrics["cost"] = abs(float(config["x"]))
        _report_with_checkpoint(metrics, t)
        if config.get("fail_at") == t and start == 0:
            raise RuntimeError(f"planned failure at iteration {t}")


def gpu_probe(config: dict[str, Any]) -> None:
    """Records the GPUs Ray gave the trial and when it ran, in ``<out_dir>/<trial_id>.json``.

    Waits (up to 60 s, then fails) until ``peers`` trials have started, so they provably run at once.
    """
    import ray

    out = Path(config["out_dir"])
    trial_id = tune.get_context().get_trial_id()
    began = time.time()
    (out / f"{trial_id}.began").touch()
    deadline = began + 60
    while len(list(out.glob("*.began"))) < int(config.get("peers", 1)):
        if time.time() > deadline:
            raise TimeoutError(f"only {len(list(out.glob('*.began')))} of {config.get('peers')} trials began in 60 s")
        time.sleep(0.05)
    time.sleep(float(config.get("sleep", 0.2)))
    record = {
        "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "began": began,
        "ended": time.time(),
    }
    (out / f"{trial_id}.json").write_text(json.dumps(record))
    tune.report({"loss": _loss(config, 1)})


class QuadraticClass(tune.Trainable):
    """The ``quadratic`` toy as a ``Trainable`` class without ``reset_config``; saves and loads ``t``.

    Appends ``<trial_id> <pid> <event> <t>`` to ``<out_dir>/events.txt`` (events: ``setup``,
    ``step``, ``restored``, ``reset``) when ``out_dir`` is set, and sleeps ``sleep`` s per step.
    """

    def setup(self, config: dict[str, Any]) -> None:
        self.t = 0
        self._event("setup")

    def _event(self, event: str) -> None:
        out = self.config.get("out_dir")
        if out:
            with open(Path(out, "events.txt"), "a") as f:
                f.write(f"{self.trial_id} {os.getpid()} {event} {self.t}\n")

    def step(self) -> dict[str, Any]:
        time.sleep(float(self.config.get("sleep", 0.0)))
        self.t += 1
        self._event("step")
        return {"loss": _loss(self.config, self.t)}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "t").write_text(str(self.t))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        self.t = int(Path(checkpoint_dir, "t").read_text())
        self._event("restored")


class ResettableQuadraticClass(QuadraticClass):
    """``QuadraticClass`` that Tune may reuse for the next trial: it overrides ``reset_config``."""

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.t = 0
        self._event("reset")
        return True


class HangingSetupClass(QuadraticClass):
    """A ``Trainable`` whose ``setup()`` does not return for ``hang_s`` seconds (default 600)."""

    def setup(self, config: dict[str, Any]) -> None:
        time.sleep(float(config.get("hang_s", 600)))
        super().setup(config)


def two_objectives(config: dict[str, Any]) -> None:
    """``loss = (x - 0.3)^2`` and ``cost = |x|``: they conflict for x in [0, 0.3] (the Pareto set)."""
    x = float(config["x"])
    for _ in range(int(config.get("max_iter", 1))):
        tune.report({"loss": (x - OPTIMUM_X) ** 2, "cost": abs(x)})


@declare(checkpoints=True)
def exploitable(config: dict[str, Any]) -> None:
    """``checkpointed``, declaring that it checkpoints (what PBT and PB2 ask of a trainable)."""
    checkpointed(config)


def _await_recorded(config: dict[str, Any], *, epoch: int) -> None:
    """Block until the store holds ``epoch`` of this config's trial (``await_sweep`` in the config,
    in the run home ``await_home``, else ``$HPO_HOME``: a session Ray's workers keep the first test's).

    A real out-of-memory error comes part-way through an epoch, long after the epoch before was
    reported. A toy that raises at once can beat that report to the trial's driver, and the
    trial then restarts from no checkpoint at all: wait until the driver has it.
    """
    sweep = config.get("await_sweep")
    if not sweep:
        return
    from hpo.results import Store

    store = Store.open(home=config.get("await_home") or os.environ["HPO_HOME"], create=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for trial in store.trials(sweep):
            if trial.config.get("batch_size") == config["batch_size"]:
                epochs = store.history(trial.trial_id).get("epoch")
                if epochs is not None and epoch in set(epochs):
                    return
        time.sleep(0.2)
    raise TimeoutError(f"the store never recorded epoch {epoch} of batch_size={config['batch_size']}")


@declare(multi_worker=True, checkpoints=True)
def gated_cifar(config: dict[str, Any]) -> None:
    """The built-in CIFAR trainable (every rank of a multi-worker trial too), held after reporting
    its first epoch until the file ``gate`` exists: a test kills the sweep's driver meanwhile."""
    from hpo.search.engine.environ import swapped
    from hpo.trainables import training
    from hpo.trainables.cifar import train_cifar

    config = dict(config)
    gate = Path(config.pop("gate"))
    epochs = training.Trainer.epochs

    def held(self: training.Trainer) -> Any:
        for metrics in epochs(self):
            yield metrics  # the trainable reports it, with its checkpoint, before asking for the next
            if metrics["epoch"] == 1:
                _await_file(gate)

    with swapped(training.Trainer, "epochs", held):
        train_cifar(config)


@declare(multi_worker=True, checkpoints=True)
def oom_cifar(config: dict[str, Any]) -> None:
    """The built-in CIFAR trainable (every rank of a multi-worker trial through the real `Trainer`) on a
    device that holds training micro-batches of at most ``fits`` from epoch 2 on, and at most ``fits_later``
    from epoch ``later`` on (a GPU that other work fills up): a bigger one's forward pass raises
    ``torch.cuda.OutOfMemoryError``, as CUDA does there, and the trainer, the trial's driver and
    ``on_oom: halve_batch`` take it from there. Before raising it waits until the store holds the
    epoch before (``await_sweep``, ``await_home``: see `_await_recorded`)."""
    import torch

    from hpo.search.engine.environ import swapped
    from hpo.trainables import training
    from hpo.trainables.cifar import train_cifar

    config = dict(config)
    device = {key: config.pop(key) for key in ("fits", "later", "fits_later", "await_sweep", "await_home")}
    model_for, train_epoch = training.model_for, training.Trainer.train_epoch
    epoch = [0]  # the epoch being trained

    def tracked(self: training.Trainer) -> Any:
        epoch[0] = self.epoch + 1
        return train_epoch(self)

    def too_big(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        holds = int(device["fits_later"] if epoch[0] >= int(device["later"]) else device["fits"])
        if module.training and epoch[0] >= 2 and inputs[0].shape[0] > holds:
            _await_recorded({**device, "batch_size": config["batch_size"]}, epoch=epoch[0] - 1)
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate a micro-batch of "
                                              f"{inputs[0].shape[0]}; this device holds {holds}")

    def limited(cfg: Any, *, num_classes: int) -> torch.nn.Module:
        model = model_for(cfg, num_classes=num_classes)
        model.register_forward_pre_hook(too_big)
        return model

    with swapped(training, "model_for", limited), swapped(training.Trainer, "train_epoch", tracked):
        train_cifar(config)


def seed_noise(seed: int, x: float) -> float:
    """The noise ``noisy`` adds: fixed by (seed, x), uniform in [-0.1, 0.1]."""
    import random

    return random.Random(f"{int(seed)}:{float(x)!r}").uniform(-0.1, 0.1)


def noisy(config: dict[str, Any]) -> None:
    """``loss = (x - 0.3)^2 + seed_noise(seed, x)`` at every iteration: a new seed, a new score."""
    for _ in range(int(config.get("max_iter", 2))):
        tune.report({"loss": (float(config["x"]) - OPTIMUM_X) ** 2 + seed_noise(int(config.get("seed") or 0),
                                                                                  config["x"])})


@declare(config={"x": float, "seed": int, "max_iter": int}, metrics=["loss"])
def noisy_declared(config: dict[str, Any]) -> None:
    """``noisy``, declaring its config keys (``seed`` among them) and its metric."""
    noisy(config)


@declare(config={"x": float, "max_iter": int}, metrics=["loss"])
def unseeded(config: dict[str, Any]) -> None:
    """Declares its config keys, and ``seed`` is not one of them."""
    quadratic(config)
