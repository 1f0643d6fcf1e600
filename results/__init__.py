"""The results store: every sweep, trial and result in SQLite (or any SQLAlchemy database),
the Ray Tune callback that feeds it, and report export (HTML, Markdown, JSON, CSV).

Imports nothing from ``spaces``, ``search`` or ``trainables``; only ``ray.tune`` (for the callback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._checkpoints import local_checkpoint
from ._confirm import Confirmation, ConfirmedConfig, confirmation
from ._cost import Cost, sweep_cost, trial_cost
from ._env import ensure_home, resolve_home
from ._errors import StoreError, SweepExistsError, SweepNotFoundError, TrialNotFoundError
from ._importance import Importance, param_importance
from ._pareto import objective_values, objectives_of, pareto_front
from ._records import HEARTBEAT_EVERY_S, HEARTBEAT_STALE_S, LINEAGE_KEY, ExploitRecord, SweepRecord, TrialRecord
from ._report import export_report
from ._secrets import mask_secrets, mask_url
from ._sections import fmt_duration as format_duration
from ._store import Store
from ._tabular import flatten as flatten_config
from ._tabular import trials_to_csv, trials_to_json

if TYPE_CHECKING:
    from ._callback import StoreCallback, ended_early

__all__ = [
    "HEARTBEAT_EVERY_S",
    "HEARTBEAT_STALE_S",
    "LINEAGE_KEY",
    "Confirmation",
    "ConfirmedConfig",
    "Cost",
    "ExploitRecord",
    "Importance",
    "Store",
    "StoreCallback",
    "StoreError",
    "SweepExistsError",
    "SweepNotFoundError",
    "SweepRecord",
    "TrialNotFoundError",
    "TrialRecord",
    "confirmation",
    "ended_early",
    "ensure_home",
    "export_report",
    "flatten_config",
    "format_duration",
    "local_checkpoint",
    "mask_secrets",
    "mask_url",
    "objective_values",
    "objectives_of",
    "param_importance",
    "pareto_front",
    "resolve_home",
    "sweep_cost",
    "trial_cost",
    "trials_to_csv",
    "trials_to_json",
]


def __getattr__(name: str) -> object:
    # The callback subclasses ray.tune.Callback: import Ray only when it is asked for, so the
    # store and the CLI's read commands start fast.
    if name in ("StoreCallback", "ended_early"):
        from . import _callback

        return getattr(_callback, name)
    raise AttributeError(f"module 'results' has no attribute {name!r}")
