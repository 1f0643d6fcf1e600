"""A running Tune trial's actor, and ending it: how hpo's per-trial time limits end a trial that hangs.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["kill_trial_actor", "trial_actor"]

logger = logging.getLogger(__name__)


def trial_actor(trial: Any) -> Any | None:
    """The Ray actor handle running ``trial`` now, or None while it has none (pending, paused, ended).

    Touches ``Trial.temporary_state`` and its ``ray_actor`` (class ``_TemporaryTrialState``), where Tune
    keeps the handle (``TuneController._actor_started`` sets it; no public accessor). Checked on Ray 2.60.0.
    """
    state = getattr(trial, "temporary_state", None)
    return getattr(state, "ray_actor", None)


def kill_trial_actor(trial: Any) -> bool:
    """End ``trial``'s actor process at once with ``ray.kill``; False when it has no actor to end.

    Ray ends the worker process and, with its default ``RAY_kill_child_processes_on_worker_exit=1``,
    the processes it started (DataLoader workers, a ``subprocess``); actors it created die with their
    owner. The GPU memory they held is freed with them. Tune then sees the trial's running task fail
    with ``RayActorError`` (``TuneController._actor_failed`` and ``_trial_task_failure``), counts one
    failure and retries the trial from its last checkpoint while ``FailureConfig.max_failures`` allows,
    else marks it ``ERROR``: the path a crashed trial takes. Ray Tune has no public way to end one
    running trial as failed (its stoppers end it as done, and act only on a result). Checked on Ray 2.60.0.
    """
    import ray

    actor = trial_actor(trial)
    if actor is None:
        return False
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already gone (Ray raises for a dead handle in some releases): Tune sees it fail anyway
        logger.debug("ray.kill of trial %s's actor failed", getattr(trial, "trial_id", "?"), exc_info=True)
    return True
