"""Which trial checkpoints a sweep keeps, deleted only once no saved experiment state points at them.

Ray's own ``CheckpointConfig(num_to_keep=N)`` deletes a trial's older checkpoint the moment a
newer one arrives, while the experiment state that ``Tuner.restore`` reads is written every few
seconds (and uploaded in the background). A driver killed in between leaves a state whose latest
checkpoint is gone, and the resumed trial fails with "Could not recover from checkpoint as it
does not exist on storage anymore". So the sweep runs Ray with ``num_to_keep=None`` and this
callback does the deleting: a checkpoint goes only when it was already outside the newest
``keep`` at the snapshot before last, so neither the state on storage nor the one being
uploaded can name it. (A sweep ends with a few more than ``keep``: those of its last two
snapshot periods.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ray.tune import Callback

from hpo.search.ray_compat.checkpoints import forget_checkpoint

__all__ = ["CheckpointRetention"]

logger = logging.getLogger(__name__)

_SNAPSHOTS_BEHIND = 2  # the state being uploaded may still be the one before the last written


@dataclass
class _Kept:
    trial: Any
    checkpoints: list[Any] = field(default_factory=list)  # ray.tune.Checkpoint, oldest first
    deleted: int = 0  # checkpoints[:deleted] are gone
    marks: list[int] = field(default_factory=list)  # len(checkpoints) at the recent snapshots


class CheckpointRetention(Callback):
    """Keeps each trial's newest ``keep`` checkpoints and deletes the older ones safely late.

    Picklable as its setting only: Ray stores callbacks in ``tuner.pkl``, and a restored run
    starts counting afresh.
    """

    def __init__(self, *, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.keep = keep
        self._trials: dict[str, _Kept] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"keep": self.keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.keep = state["keep"]
        self._trials = {}

    def on_checkpoint(self, iteration: int, trials: list[Any], trial: Any, checkpoint: Any, **info: Any) -> None:
        if trial.trial_id not in self._trials:
            self._trials[trial.trial_id] = _Kept(trial)
        self._trials[trial.trial_id].checkpoints.append(checkpoint)

    def get_state(self) -> dict[str, Any] | None:
        """Called as Tune writes a snapshot of the experiment (after the trials' part of it)."""
        for kept in self._trials.values():
            kept.marks = [*kept.marks, len(kept.checkpoints)][-(_SNAPSHOTS_BEHIND + 1):]
            if len(kept.marks) > _SNAPSHOTS_BEHIND:
                self._delete_before(kept, kept.marks[0] - self.keep)
        return None

    def _delete_before(self, kept: _Kept, end: int) -> None:
        while kept.deleted < end:
            gone = kept.checkpoints[kept.deleted]
            kept.checkpoints[kept.deleted] = None
            kept.deleted += 1
            try:
                gone.filesystem.delete_dir(gone.path)
            except (FileNotFoundError, OSError) as exc:
                logger.debug("checkpoint %s already gone: %s", gone.path, exc)
            forget_checkpoint(kept.trial, gone.path)  # from Ray's list of the trial's checkpoints too
