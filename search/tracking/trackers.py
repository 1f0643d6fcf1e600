"""Experiment trackers (Weights & Biases, MLflow) fed from the spec's ``tracking:`` section.

Ray Tune's own ``WandbLoggerCallback`` and ``MLflowLoggerCallback`` do the logging (one run per
trial, its config and per-epoch metrics). Added here only what they lack:

- checks before Ray starts: the tracker's package is installed (else: which extra to install),
  and W&B ``mode: online`` has credentials (else W&B would stop the sweep at a login prompt);
- the sweep's name on every run, and each trial's final status as hpo classifies it
  (``completed``, ``stopped_early``, ``error``: the store's rule, `results.ended_early`);
- W&B ``mode: offline`` without credentials (Ray checks the key unless ``WANDB_MODE`` is set);
- fail-soft: a tracker that raises (its server gone) is dropped with one warning; the sweep and
  the results store go on.

The callbacks run in the driver beside the store's (``hpo.search.engine.sweep._execute``), so a resumed sweep
gets them again from its spec, and nothing of theirs is pickled into Ray's experiment state.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

from hpo.results import mask_secrets
from hpo.search.engine.environ import set_env
from hpo.search.errors import SweepInputError

__all__ = [
    "STATUS_KEY", "SWEEP_KEY", "FailSoft", "TrackingError", "check_trackers", "tracker_callbacks", "trial_status",
]

logger = logging.getLogger(__name__)

STATUS_KEY = "hpo_status"  # W&B summary key of a trial's final status (MLflow tag: hpo.status)
SWEEP_KEY = "hpo_sweep"  # W&B config key of the sweep's name (MLflow tag: hpo.sweep)


class TrackingError(SweepInputError):
    """A tracker the spec asks for cannot run: its package is missing, or it has no credentials."""


def _wanted(spec: Any) -> tuple[Any, Any]:
    """The W&B and MLflow sections in use; W&B ``mode: disabled`` counts as no W&B at all."""
    wandb = spec.tracking.wandb
    return (wandb if wandb is not None and wandb.mode != "disabled" else None), spec.tracking.mlflow


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _wandb_logged_in() -> bool:
    """Credentials from WANDB_API_KEY, W&B's settings or its .netrc entry, without prompting or network."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    import wandb

    # Silent: otherwise W&B looks up the account to greet it, which starts its wandb-core service
    # (network, seconds, and at times a process that will not exit on a machine without internet).
    with set_env(WANDB_SILENT="true"):
        return bool(wandb.login(prompt=False, verify=False))


def check_trackers(spec: Any) -> None:
    """Fail fast, before Ray starts, when a tracker in ``spec.tracking`` cannot run.

    Raises:
        TrackingError: one line naming every problem: the extra to install, or for W&B
            ``mode: online`` without credentials, ``WANDB_API_KEY`` and ``mode: offline``.
    """
    wandb, mlflow = _wanted(spec)
    problems: list[str] = []
    if wandb is not None and not _installed("wandb"):
        problems.append("tracking.wandb: the wandb package is not installed; "
                        "install the extra: pip install 'hpo-service[wandb]'")
    elif wandb is not None and wandb.mode == "online" and not _wandb_logged_in():
        problems.append("tracking.wandb: mode online needs W&B credentials and none were found; "
                        "set WANDB_API_KEY (or run `wandb login`), or use mode: offline "
                        "(--set tracking.wandb.mode=offline) and `wandb sync` later")
    if mlflow is not None and not _installed("mlflow"):
        problems.append("tracking.mlflow: the mlflow package is not installed; "
                        "install the extra: pip install 'hpo-service[mlflow]'")
    if problems:
        raise TrackingError("; ".join(problems))


def trial_status(trial: Any, *, failed: bool, max_t: float | None, time_attr: str,
                 stop: dict[str, float] | None = None) -> str:
    """``error``, ``stopped_early`` or ``completed``: the store's classification of an ended trial."""
    from hpo.results import ended_early

    if failed:
        return "error"
    last = getattr(trial, "last_result", None) or {}
    return "stopped_early" if ended_early(trial, last.get(time_attr), max_t=max_t, stop=stop) else "completed"


class FailSoft:
    """Mixin for a tracker callback: the first exception of any hook is logged once, then it is off.

    A tracker is a copy of the record, the store is the record: losing the tracker must not stop
    the sweep (Ray ends the whole experiment when a callback raises).
    """

    tracker_name = "tracker"
    _off = False

    def _guard(self, hook: str, *args: Any, **kwargs: Any) -> None:
        if self._off:
            return
        try:
            getattr(super(), hook)(*args, **kwargs)
        except Exception as exc:  # any failure of a tracker: its server, its files, its library
            self._off = True
            logger.warning("%s failed (%s: %s); the sweep goes on without it, the results store has every result",
                           self.tracker_name, type(exc).__name__, (mask_secrets(str(exc)).splitlines() or [""])[0])
            logger.debug("%s failure", self.tracker_name, exc_info=True)

    def setup(self, *args: Any, **kwargs: Any) -> None:
        self._guard("setup", *args, **kwargs)

    def log_trial_start(self, trial: Any) -> None:
        self._guard("log_trial_start", trial)

    def log_trial_restore(self, trial: Any) -> None:
        self._guard("log_trial_restore", trial)

    def log_trial_save(self, trial: Any) -> None:
        self._guard("log_trial_save", trial)

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        self._guard("log_trial_result", iteration, trial, result)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        self._guard("log_trial_end", trial, failed)

    def on_experiment_end(self, *args: Any, **kwargs: Any) -> None:
        self._guard("on_experiment_end", *args, **kwargs)


def tracker_callbacks(spec: Any, plan: Any) -> list[Any]:
    """The spec's tracker callbacks (none when ``tracking:`` is empty), each one fail-soft.

    Args:
        spec: The validated ``SweepSpec``; run :func:`check_trackers` on it first.
        plan: Its ``SweepPlan``: trackers classify ended trials from it, as the store does.
    """
    wandb, mlflow = _wanted(spec)
    found: list[Any] = []
    common = {"sweep": spec.name, "max_t": plan.trial_cap if plan.early_stopping else None,
              "time_attr": plan.time_attr, "stop": dict(plan.stop)}
    if wandb is not None:
        from hpo.search.tracking.wandb_tracker import WandbTracker

        found.append(WandbTracker(
            project=wandb.project, entity=wandb.entity, group=wandb.group or spec.name, mode=wandb.mode, **common))
    if mlflow is not None:
        from hpo.search.tracking.mlflow_tracker import MlflowTracker

        found.append(MlflowTracker(
            tracking_uri=mlflow.tracking_uri, experiment=mlflow.experiment or spec.name, **common))
    return found
