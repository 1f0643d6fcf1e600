"""The results store: every sweep, trial and result in SQLite (or any SQLAlchemy database),
the Ray Tune callback that feeds it, and report export (HTML, Markdown, JSON, CSV).

Imports nothing from ``spaces``, ``search`` or ``trainables``; only ``ray.tune`` (for the callback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.results.analysis.confirm import Confirmation, ConfirmedConfig, confirmation
from hpo.results.analysis.cost import Cost, sweep_cost, trial_cost
from hpo.results.analysis.importance import Importance, param_importance
from hpo.results.analysis.pareto import objective_values, objectives_of, pareto_front
from hpo.results.errors import StoreError, SweepExistsError, SweepNotFoundError, TrialNotFoundError
from hpo.results.report.export import export_report
from hpo.results.report.sections import fmt_duration as format_duration
from hpo.results.report.tabular import flatten as flatten_config
from hpo.results.report.tabular import trials_to_csv, trials_to_json
from hpo.results.secrets import mask_secrets, mask_url
from hpo.results.store.checkpoints import local_checkpoint
from hpo.results.store.env import ensure_home, resolve_home
from hpo.results.store.records import (
    HEARTBEAT_EVERY_S,
    HEARTBEAT_STALE_S,
    LINEAGE_KEY,
    ExploitRecord,
    SweepRecord,
    TrialRecord,
)
from hpo.results.store.store import Store

if TYPE_CHECKING:
    from hpo.results.store.callback import StoreCallback, ended_early

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
        from hpo.results.store import callback as _callback

        return getattr(_callback, name)
    raise AttributeError(f"module 'results' has no attribute {name!r}")
