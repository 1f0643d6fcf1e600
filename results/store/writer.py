"""Batched, idempotent writes of trial state and results (the callback's half of the store).

The callback keeps each trial's row in memory (``TrialState``) and queues results; ``flush``
writes everything queued in ONE transaction: trial rows upserted on (sweep, trial id),
results upserted on (trial, iteration). Replaying a result (resume, a retried trial) is
therefore an update, never a duplicate, and a killed driver leaves whole rows behind.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hpo.results.store.db import run_read, run_write, upsert
from hpo.results.store.ranking import better
from hpo.results.store.ray_keys import UNSTORED_KEYS
from hpo.results.store.records import TRIAL_FIELDS, TrialRecord, finite, from_epoch, trial_from_row, trial_row
from hpo.results.store.schema import results_table, sweeps_table, trials_table

__all__ = ["BatchWriter", "TrialState", "clean_result"]

_CHUNK = 500  # rows per IN (...) lookup, well under every backend's bound-parameter limit


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return _scalar(item())
        except (TypeError, ValueError, RuntimeError):
            return None
    return None


def clean_result(result: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The scalars of a Tune result, nested dicts flattened with ``/`` (Ray's convention),
    Ray's bookkeeping keys and non-finite numbers dropped (NaN/inf become None)."""
    flat: dict[str, Any] = {}
    for key, value in result.items():
        if not prefix and key in UNSTORED_KEYS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(clean_result(value, prefix=f"{name}/"))
            continue
        scalar = _scalar(value)
        if scalar is not None or value is None:
            flat[name] = scalar
        elif isinstance(value, float):
            flat[name] = None
    return flat


@dataclass
class TrialState:
    """One trial as the callback will next write it: its record, plus where the row is.

    Attributes:
        trial: The trial's record (the same ``TrialRecord`` the store hands out).
        pk: The row's primary key, once written.
        recompute: A result was replayed: recompute best/last from the stored results.
        placed: The trial's node was looked up since it last (re)started.
    """

    trial: TrialRecord
    pk: int | None = None
    recompute: bool = False
    placed: bool = False

    @classmethod
    def new(cls, sweep: str, trial_id: str) -> TrialState:
        return cls(TrialRecord(sweep=sweep, trial_id=trial_id, config={}, status="running",
                               started=datetime.now(tz=UTC)))

    def update(self, **changes: Any) -> None:
        """Change fields of the record (``ended=time.time()`` style epoch floats are accepted)."""
        for name in ("started", "ended"):
            if isinstance(changes.get(name), int | float):
                changes[name] = from_epoch(changes[name])
        self.trial = replace(self.trial, **changes)

    def add_result(self, iteration: int, value: float | None, metrics: dict[str, Any], mode: str) -> None:
        """Fold one result into the row; a replayed iteration marks the row for recomputation."""
        t = self.trial
        if iteration <= t.iterations:
            self.recompute = True
            return
        best = (t.best_metric, t.best_iteration)
        if value is not None and better(value, t.best_metric, mode=mode):
            best = (value, iteration)
        self.trial = replace(t, iterations=iteration, last_metric=value, last_result=metrics, best_metric=best[0],
                             best_iteration=best[1])


# `replaced_by` is the store's to write (Store.mark_replaced, when a resume runs an errored trial's config
# again): the callback's copy of a row, loaded before that, must not put it back to None.
_TRIAL_UPDATE = [name for name in TRIAL_FIELDS if name not in ("trial_id", "replaced_by")]
_RESULT_UPDATE = ["time_total_s", "metric_value", "metrics", "recorded"]


class BatchWriter:
    """Writes queued trial rows and results for one sweep, one transaction per ``flush``."""

    def __init__(self, engine: Engine, *, sweep: str, metric: str, mode: str) -> None:
        self._engine = engine
        self.sweep = sweep
        self.metric = metric
        self.mode = mode
        self.sweep_id: int | None = None

    def ensure_sweep(self, *, max_t: int | None) -> int:
        """The sweep's id, creating a bare ``running`` row when the store has none (callback used alone)."""
        if self.sweep_id is not None:
            return self.sweep_id

        def write(conn: Connection) -> int:
            found = conn.execute(select(sweeps_table.c.id).where(sweeps_table.c.name == self.sweep)).scalar()
            if found is not None:
                return int(found)
            done = conn.execute(sweeps_table.insert().values(
                name=self.sweep, status="running", metric=self.metric, mode=self.mode, max_t=max_t,
                started=time.time(), versions="{}"))
            return int(done.inserted_primary_key[0])

        self.sweep_id = run_write(self._engine, write, what=f"registering sweep {self.sweep!r}")
        return self.sweep_id

    def load_states(self) -> dict[str, TrialState]:
        """The rows this sweep already has (a resumed sweep continues from them)."""
        sweep_id = self.sweep_id

        def read(conn: Connection) -> list[Any]:
            return conn.execute(select(trials_table).where(trials_table.c.sweep_id == sweep_id)).all()

        return {row.trial_id: TrialState(trial_from_row(self.sweep, row), pk=row.id)
                for row in run_read(self._engine, read, what=f"loading trials of {self.sweep!r}")}

    def flush(self, dirty: list[TrialState], results: list[tuple[TrialState, dict[str, Any]]]) -> None:
        """Write ``dirty`` rows and queued ``results`` (each ``(state, result row)``) in one transaction."""
        if not dirty and not results:
            return
        sweep_id = self.sweep_id
        if sweep_id is None:
            raise RuntimeError("BatchWriter.flush before ensure_sweep")
        touched = {id(s): s for s in dirty}
        touched.update({id(s): s for s, _ in results})
        states = list(touched.values())

        def write(conn: Connection) -> dict[str, int]:
            upsert(conn, trials_table, [trial_row(s.trial, sweep_id) for s in states], keys=("sweep_id", "trial_id"),
                   update=_TRIAL_UPDATE)
            pks = {s.trial.trial_id: s.pk for s in states if s.pk is not None}
            missing = [s.trial.trial_id for s in states if s.pk is None]
            for start in range(0, len(missing), _CHUNK):
                chunk = missing[start:start + _CHUNK]
                for pk, trial_id in conn.execute(select(trials_table.c.id, trials_table.c.trial_id).where(
                        trials_table.c.sweep_id == sweep_id, trials_table.c.trial_id.in_(chunk))):
                    pks[trial_id] = pk
            rows = [{**row, "trial_pk": pks[s.trial.trial_id]} for s, row in results]
            upsert(conn, results_table, rows, keys=("trial_pk", "iteration"), update=_RESULT_UPDATE)
            for state in states:
                if state.recompute:
                    self._recompute(conn, state, pks[state.trial.trial_id], sweep_id)
            return pks

        pks = run_write(self._engine, write, what=f"writing results of {self.sweep!r}")
        for state in states:
            state.pk = pks.get(state.trial.trial_id, state.pk)
            state.recompute = False

    def _recompute(self, conn: Connection, state: TrialState, pk: int, sweep_id: int) -> None:
        rows = conn.execute(select(results_table.c.iteration, results_table.c.metric_value,
                                   results_table.c.metrics)
                            .where(results_table.c.trial_pk == pk).order_by(results_table.c.iteration)).all()
        best: tuple[float, int] | None = None
        for iteration, value, _ in rows:
            if value is not None and better(value, best[0] if best else None, mode=self.mode):
                best = (value, iteration)
        if rows:
            state.update(iterations=rows[-1].iteration, last_metric=finite(rows[-1].metric_value),
                         last_result=json.loads(rows[-1].metrics))
        best_metric, best_iteration = best if best else (None, None)
        state.update(best_metric=best_metric, best_iteration=best_iteration)
        row = {k: v for k, v in trial_row(state.trial, sweep_id).items() if k != "replaced_by"}
        conn.execute(trials_table.update().where(trials_table.c.id == pk).values(row))
