"""The results store: every sweep, trial and result in SQLite (or any SQLAlchemy database), the Ray Tune
callback that feeds it, what is read from it (plan facts, cost, Pareto sets, confirmations, importance),
and report export (HTML, Markdown, JSON, CSV).

``store/`` writes and reads; ``analysis/`` turns records into facts (data in, data out); ``report/`` draws and
exports; ``dashboard/`` serves it all live. Imports nothing from ``spaces``, ``search`` or ``trainables``; of Ray,
only ``ray.tune`` (for the callback, imported when it is first asked for, so the store and the CLI's read
commands start fast). Importing this package imports neither matplotlib nor Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.results.analysis.confirm import Confirmation, ConfirmedConfig, confirmation
from hpo.results.analysis.cost import Cost, sweep_cost, trial_cost
from hpo.results.analysis.importance import Importance
from hpo.results.analysis.pareto import objective_values, objectives_of, pareto_front
from hpo.results.errors import StoreError, SweepExistsError, SweepNotFoundError, TrialNotFoundError
from hpo.results.formatting import error_summary, format_duration, format_hours, format_number
from hpo.results.report.data import flow_text, param_importance
from hpo.results.report.export import export_report
from hpo.results.report.tabular import flatten as flatten_config
from hpo.results.report.tabular import trials_to_csv, trials_to_json
from hpo.results.secrets import error_line, mask_secrets, mask_url
from hpo.results.store import (
    HEARTBEAT_EVERY_S,
    HEARTBEAT_STALE_S,
    LINEAGE_KEY,
    OUTCOMES,
    RAY_AUTO_KEYS,
    ExploitRecord,
    Outcome,
    Store,
    SweepRecord,
    TrialRecord,
    best_first,
    better,
    ended_early,
    ensure_home,
    iterations_reached,
    local_checkpoint,
    resolve_home,
    trial_outcome,
)

if TYPE_CHECKING:
    from hpo.results.store import NodeOf, StoreCallback

__all__ = [
    "HEARTBEAT_EVERY_S",
    "HEARTBEAT_STALE_S",
    "LINEAGE_KEY",
    "OUTCOMES",
    "RAY_AUTO_KEYS",
    "Confirmation",
    "ConfirmedConfig",
    "Cost",
    "ExploitRecord",
    "Importance",
    "NodeOf",
    "Outcome",
    "Store",
    "StoreCallback",
    "StoreError",
    "SweepExistsError",
    "SweepNotFoundError",
    "SweepRecord",
    "TrialNotFoundError",
    "TrialRecord",
    "best_first",
    "better",
    "confirmation",
    "ended_early",
    "ensure_home",
    "error_line",
    "error_summary",
    "export_report",
    "flatten_config",
    "flow_text",
    "format_duration",
    "format_hours",
    "format_number",
    "iterations_reached",
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
    "trial_outcome",
    "trials_to_csv",
    "trials_to_json",
]


def __getattr__(name: str) -> object:
    if name in ("NodeOf", "StoreCallback"):  # imports ray.tune: only when it is asked for
        from hpo.results import store

        return getattr(store, name)
    raise AttributeError(f"module 'hpo.results' has no attribute {name!r}")
