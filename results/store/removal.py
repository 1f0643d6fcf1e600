"""Rows that leave the store or stop counting: a sweep or some of its trials removed (``hpo rm``), and errored
trials marked replaced by the trial that ran their config again (``hpo resume --restart-errored``).

Removal deletes results, then trials, then the sweep, in ONE transaction and explicitly: the schema's
``ON DELETE CASCADE`` acts on SQLite only with its ``foreign_keys`` pragma on (``db.py`` sets it on every
connection, but a store another tool opens, or a table created before the clause, need not have it), and
an explicit delete reads the same on every backend. Ray's files (the experiment folders) are not the
store's: the engine removes those (``hpo.search.engine.removal``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from hpo.results.store.schema import results_table, sweeps_table, trials_table

__all__ = ["Removed", "delete_sweep", "delete_trials", "set_replaced"]

_CHUNK = 500  # ids per IN (...), well under every backend's bound-parameter limit


@dataclass(frozen=True)
class Removed:
    """What a removal took out of the store.

    Attributes:
        sweep: The sweep's name.
        trials: Trial rows removed (replaced rows included).
        results: Result rows removed.
        whole: The sweep's own row went too (``remove_sweep``); False when only trials went.
    """

    sweep: str
    trials: int
    results: int
    whole: bool


def _chunks(values: list[int]) -> list[list[int]]:
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _delete_trial_rows(conn: Connection, pks: list[int]) -> int:
    """Delete the results of the trials ``pks``, then the trials; the results' count."""
    results = 0
    for chunk in _chunks(pks):
        results += conn.execute(delete(results_table).where(results_table.c.trial_pk.in_(chunk))).rowcount or 0
        conn.execute(delete(trials_table).where(trials_table.c.id.in_(chunk)))
    return results


def delete_sweep(conn: Connection, sweep_id: int, name: str) -> Removed:
    """Delete the sweep ``sweep_id`` with all its trials and results."""
    pks = list(conn.execute(select(trials_table.c.id).where(trials_table.c.sweep_id == sweep_id)).scalars())
    results = _delete_trial_rows(conn, pks)
    conn.execute(delete(sweeps_table).where(sweeps_table.c.id == sweep_id))
    return Removed(sweep=name, trials=len(pks), results=results, whole=True)


def delete_trials(conn: Connection, sweep_id: int, name: str, trial_ids: Collection[str]) -> tuple[Removed, list[str]]:
    """Delete the trials ``trial_ids`` of sweep ``sweep_id`` with their results, unless one is unknown.

    An errored row that a removed trial had replaced counts again (its ``replaced_by`` is cleared): the
    run that stood in for it is gone.

    Returns:
        ``(what was removed, the ids the sweep does not have)``; nothing is removed when that list is
        not empty.
    """
    wanted = list(dict.fromkeys(trial_ids))
    found = dict(conn.execute(select(trials_table.c.trial_id, trials_table.c.id).where(
        trials_table.c.sweep_id == sweep_id, trials_table.c.trial_id.in_(wanted))).all())
    unknown = [t for t in wanted if t not in found]
    if unknown:
        return Removed(sweep=name, trials=0, results=0, whole=False), unknown
    results = _delete_trial_rows(conn, list(found.values()))
    conn.execute(update(trials_table).where(trials_table.c.sweep_id == sweep_id,
                                            trials_table.c.replaced_by.in_(wanted)).values(replaced_by=None))
    return Removed(sweep=name, trials=len(found), results=results, whole=False), []


def set_replaced(conn: Connection, sweep_id: int, replaced: Mapping[str, str]) -> int:
    """Mark each errored trial ``old`` of ``replaced`` (old id -> new id) as replaced by ``new``; rows marked."""
    marked = 0
    for old, new in replaced.items():
        marked += conn.execute(update(trials_table).where(
            trials_table.c.sweep_id == sweep_id, trials_table.c.trial_id == old).values(replaced_by=new)).rowcount or 0
    return marked

