"""MLflow through Ray Tune's ``MLflowLoggerCallback``, plus each trial's final status as a run tag.

Ray's callback is reached through ``hpo.search.ray_compat.mlflow``.
"""

from __future__ import annotations

import logging
from typing import Any

from hpo.search.ray_compat.mlflow import MLflowRunsCallback
from hpo.search.tracking.common import FailSoft, StatusRule

__all__ = ["MlflowTracker"]

STATUS_TAG = "hpo.status"
SWEEP_TAG = "hpo.sweep"


class _StatusMlflow(MLflowRunsCallback):
    def __init__(self, *, tracking_uri: str | None, experiment: str, sweep: str, max_t: float | None,
                 time_attr: str, stop: dict[str, float] | None = None) -> None:
        super().__init__(tracking_uri, experiment_name=experiment, tags={SWEEP_TAG: sweep})
        self.status_rule = StatusRule(max_t, time_attr, stop)
        self.client: Any = None

    def setup(self, *args: Any, **kwargs: Any) -> None:
        # A new sqlite:/// tracking store logs its table creation at INFO on stderr: not the sweep's news.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
        super().setup(*args, **kwargs)
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=self.tracking_uri)  # None: MLflow's default, as Ray's

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        run_id = self.trial_run_id(trial)
        if run_id is not None:
            status = self.status_rule.status(trial, failed=failed, stopped=self.stopped_on_last_result(trial))
            self.client.set_tag(run_id, STATUS_TAG, status)
        super().log_trial_end(trial, failed)


class MlflowTracker(FailSoft, _StatusMlflow):
    """One MLflow run per trial in the sweep's experiment; tags ``hpo.sweep`` and ``hpo.status``; fail-soft.

    Run status: FINISHED (completed or stopped early) or FAILED (error), as Ray's callback sets it.

    Args:
        tracking_uri: MLflow tracking URI; None: MLflow's default (``MLFLOW_TRACKING_URI``).
        experiment: MLflow experiment (created when missing).
        sweep: The sweep's name.
        max_t: As the store's callback has it (None: the scheduler stops no trial early).
        time_attr: The result key ``max_t`` counts.
        stop: The sweep's stop criteria (a trial that met one completed).
    """

    tracker_name = "MLflow tracking"
