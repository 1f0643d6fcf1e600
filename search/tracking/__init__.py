"""Experiment trackers fed from the spec's ``tracking:`` section: Weights & Biases and MLflow, through Ray
Tune's own callbacks, with the sweep's name and each trial's final status added, fail-soft.

``trackers`` checks a spec's trackers before Ray starts and builds their callbacks; ``common`` holds
what both share (the final-status rule, the keys, fail-soft); ``wandb_tracker`` and ``mlflow_tracker``
one tracker each. Importing this package imports neither Ray nor a tracker's library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.tracking.common import STATUS_KEY, SWEEP_KEY, FailSoft, StatusRule
    from hpo.search.tracking.trackers import TrackingError, check_trackers, tracker_callbacks

__all__ = ["STATUS_KEY", "SWEEP_KEY", "FailSoft", "StatusRule", "TrackingError", "check_trackers",
           "tracker_callbacks"]

_HOME = {"STATUS_KEY": "common", "SWEEP_KEY": "common", "FailSoft": "common", "StatusRule": "common",
         "TrackingError": "trackers", "check_trackers": "trackers", "tracker_callbacks": "trackers"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
