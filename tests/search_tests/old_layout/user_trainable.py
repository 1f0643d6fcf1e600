"""A user's own trainables for the old-layout resume fixtures (``trainable: "user_trainable:train"`` and
``"user_trainable:Train"``).

They use Ray Tune's public API only and import nothing of hpo, so the very same file runs under the
old top-level layout (``search``, ``results``...) that wrote the fixtures and under the ``hpo.*``
layout that resumes them. Their state is two numbers; a checkpoint is one small JSON file.

Every result carries ``restored_from``: the iteration of the checkpoint this run of the trial
started from (0 when it started from scratch), so a test can tell from the store alone that a
resumed trial continued from its checkpoint (or, under PBT, from the donor's it exploited).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from ray import tune

_STATE = "state.json"


def _loss(x: float, w: float) -> float:
    return (x - 0.3) ** 2 + w


def train(config: dict[str, Any]) -> None:
    """Function trainable: ``loss = (x - 0.3)^2 + w``, ``w`` starting at 1 and shrinking by ``rate`` per iteration.

    Config: ``x``, ``rate`` (in (0, 1), default 0.5), ``max_iter``, ``sleep`` (seconds per iteration).
    Checkpoints with every result.
    """
    checkpoint = tune.get_checkpoint()
    t, w = 0, 1.0
    if checkpoint is not None:
        with checkpoint.as_directory() as d, open(os.path.join(d, _STATE)) as f:
            state = json.load(f)
        t, w = int(state["t"]), float(state["w"])
    restored_from = t
    x, rate = float(config["x"]), float(config.get("rate", 0.5))
    while t < int(config["max_iter"]):
        time.sleep(float(config.get("sleep", 0.0)))
        t, w = t + 1, w * (1.0 - rate)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, _STATE), "w") as f:
                json.dump({"t": t, "w": w}, f)
            tune.report({"loss": _loss(x, w), "t": t, "restored_from": restored_from},
                        checkpoint=tune.Checkpoint.from_directory(d))


class Train(tune.Trainable):
    """``train`` as a ``tune.Trainable`` class, for PBT: hpo's PBT check accepts a class that overrides
    ``save_checkpoint`` as it is, while a function must be declared with hpo's ``declare(checkpoints=True)``,
    which a module importing nothing of hpo cannot use.

    No ``reset_config``, so Tune starts a fresh actor per trial and per exploit: with one (actors reused),
    synch PBT on Ray 2.60 sometimes ended a trial ("completed") at the first result after an exploit.
    """

    def setup(self, config: dict[str, Any]) -> None:
        self.t, self.w, self.restored_from = 0, 1.0, 0
        self.x, self.rate = float(config["x"]), float(config.get("rate", 0.5))
        self.max_iter, self.sleep = int(config["max_iter"]), float(config.get("sleep", 0.0))

    def step(self) -> dict[str, Any]:
        time.sleep(self.sleep)
        self.t, self.w = self.t + 1, self.w * (1.0 - self.rate)
        return {"loss": _loss(self.x, self.w), "t": self.t, "restored_from": self.restored_from,
                "done": self.t >= self.max_iter}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, _STATE), "w") as f:
            json.dump({"t": self.t, "w": self.w}, f)

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, _STATE)) as f:
            state = json.load(f)
        self.t, self.w = int(state["t"]), float(state["w"])
        self.restored_from = self.t
