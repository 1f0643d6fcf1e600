"""The store: the schema and its migrations, the database engine, the ``Store`` that reads and writes sweeps,
trials and results, the records it hands out, the batched writer, and the Ray Tune callback that feeds it.

Also the rules the store's rows are written by, each spelled once and used beyond the store: how a trial
ended (``trial_outcome``), which value is better and trials best first (``better``, ``best_first``), and the
keys Ray adds to every result (``RAY_AUTO_KEYS``). ``StoreCallback`` imports ``ray.tune``, so it is imported
when it is first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.results.store.checkpoints import local_checkpoint
from hpo.results.store.env import ensure_home, resolve_home
from hpo.results.store.outcome import OUTCOMES, Outcome, ended_early, iterations_reached, trial_outcome
from hpo.results.store.ranking import best_first, better
from hpo.results.store.ray_keys import RAY_AUTO_KEYS, RAY_PROGRESS_KEYS, RAY_UNSTORED_KEYS
from hpo.results.store.records import (
    HEARTBEAT_EVERY_S,
    HEARTBEAT_STALE_S,
    LINEAGE_KEY,
    ExploitRecord,
    SweepRecord,
    TrialRecord,
    dumps,
    finite,
    loads,
)
from hpo.results.store.schema import SCHEMA_VERSION
from hpo.results.store.store import Store

if TYPE_CHECKING:
    from hpo.results.store.callback import NodeOf, StoreCallback

__all__ = [
    "HEARTBEAT_EVERY_S",
    "HEARTBEAT_STALE_S",
    "LINEAGE_KEY",
    "OUTCOMES",
    "RAY_AUTO_KEYS",
    "RAY_PROGRESS_KEYS",
    "RAY_UNSTORED_KEYS",
    "SCHEMA_VERSION",
    "ExploitRecord",
    "NodeOf",
    "Outcome",
    "Store",
    "StoreCallback",
    "SweepRecord",
    "TrialRecord",
    "best_first",
    "better",
    "dumps",
    "ended_early",
    "ensure_home",
    "finite",
    "iterations_reached",
    "loads",
    "local_checkpoint",
    "resolve_home",
    "trial_outcome",
]


def __getattr__(name: str) -> object:
    # The callback subclasses ray.tune.Callback: import Ray only when it is asked for.
    if name in ("NodeOf", "StoreCallback"):
        from hpo.results.store import callback

        return getattr(callback, name)
    raise AttributeError(f"module 'hpo.results.store' has no attribute {name!r}")
