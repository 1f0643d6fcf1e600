"""Experiment trackers (Weights & Biases, MLflow) fed from the spec's ``tracking:`` section.

Ray Tune's own ``WandbLoggerCallback`` and ``MLflowLoggerCallback`` do the logging (one run per
trial, its config and per-epoch metrics). Added here only what they lack:

- checks before Ray starts: the tracker's package is installed (else: which extra to install),
  and W&B ``mode: online`` has credentials (else W&B would stop the sweep at a login prompt);
- the sweep's name on every run, and each trial's final status as hpo classifies it
  (``completed``, ``stopped_early``, ``error``: the store's rule, `results.trial_outcome`);
- W&B ``mode: offline`` without credentials (Ray checks the key unless ``WANDB_MODE`` is set);
- fail-soft: a tracker that raises (its server gone) is dropped with one warning; the sweep and
  the results store go on.

The pieces both trackers share (the status rule, the keys, fail-soft) are in ``hpo.search.tracking.common``;
Ray's internals the trackers reach are in ``hpo.search.ray_compat.wandb`` and ``.mlflow``.

The callbacks run in the driver beside the store's (``hpo.search.engine.sweep._execute``), so a resumed sweep
gets them again from its spec, and nothing of theirs is pickled into Ray's experiment state.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from hpo.search.engine.environ import set_env
from hpo.search.errors import SweepInputError

__all__ = ["TrackingError", "check_trackers", "tracker_callbacks"]


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


def tracker_callbacks(spec: Any, plan: Any) -> list[Any]:
    """The spec's tracker callbacks (none when ``tracking:`` is empty), each one fail-soft.

    Args:
        spec: The validated ``SweepSpec``; run :func:`check_trackers` on it first.
        plan: Its ``SweepPlan``: trackers classify ended trials from it, as the store does.
    """
    wandb, mlflow = _wanted(spec)
    found: list[Any] = []
    common = {"sweep": spec.name, "max_t": plan.stop_cap,
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
