"""Ray Tune's ``MLflowLoggerCallback``, telling each trial's MLflow run.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from typing import Any

from ray.air.integrations.mlflow import MLflowLoggerCallback

__all__ = ["MLflowRunsCallback"]


class MLflowRunsCallback(MLflowLoggerCallback):
    """``MLflowLoggerCallback`` that tells the MLflow run it logs a trial to (:meth:`trial_run_id`).

    Touches ``MLflowLoggerCallback._trial_runs`` (trial -> run id): hpo tags each trial's run with its
    final status (``hpo.search.tracking.mlflow_tracker``); Ray makes it in ``setup``. Checked on Ray 2.60.0.
    """

    def trial_run_id(self, trial: Any) -> str | None:
        """The id of ``trial``'s MLflow run, or None before it started (or before ``setup``)."""
        return getattr(self, "_trial_runs", {}).get(trial)
