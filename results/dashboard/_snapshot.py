"""What the dashboard shows, read from the store and cached by a cheap fingerprint of it.

A page is rebuilt only when the store changed (a result, a trial's end, the sweep's status),
and at most once per ``MIN_REBUILD_S`` while a sweep runs: twenty browsers polling a sweep that
reports every second cause one rebuild, not twenty.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from hpo.results.store.db import run_read
from hpo.results.store.schema import results_table, sweeps_table, trials_table
from hpo.results.store.store import Store

__all__ = ["COST_TICK_S", "MIN_REBUILD_S", "Cache", "Fingerprints", "Names", "fingerprint"]

MIN_REBUILD_S = 2.0  # a running sweep's page is rebuilt at most this often
FINGERPRINT_TTL_S = 0.5  # how stale a "has the store changed?" answer may be
COST_TICK_S = 30  # running trials' cost grows with the clock: refresh at least this often

T = TypeVar("T")


def fingerprint(store: Store, name: str | None, *, now: float | None = None,
                cost_tick_s: float = COST_TICK_S) -> str:
    """A short digest that changes whenever what a page shows changes (``name`` None: every sweep).

    A running sweep's cost grows with the clock: its digest also moves every ``cost_tick_s`` of wall time
    (``now``: epoch seconds, default the clock's).
    """
    def read(conn: Connection) -> tuple[Any, ...]:
        sweeps_q = select(sweeps_table.c.name, sweeps_table.c.status, sweeps_table.c.finished)
        trials_q = (select(func.count(), func.max(trials_table.c.ended), func.sum(trials_table.c.iterations))
                    .select_from(trials_table))
        results_q = (select(func.count(), func.max(results_table.c.id)).select_from(results_table)
                     .join(trials_table, trials_table.c.id == results_table.c.trial_pk))
        status_q = select(trials_table.c.status, func.count()).group_by(trials_table.c.status)
        if name is not None:
            sweep_id = select(sweeps_table.c.id).where(sweeps_table.c.name == name).scalar_subquery()
            sweeps_q = sweeps_q.where(sweeps_table.c.name == name)
            trials_q = trials_q.where(trials_table.c.sweep_id == sweep_id)
            results_q = results_q.where(trials_table.c.sweep_id == sweep_id)
            status_q = status_q.where(trials_table.c.sweep_id == sweep_id)
        return (tuple(conn.execute(sweeps_q.order_by(sweeps_table.c.name)).all()),
                tuple(conn.execute(trials_q).one()), tuple(conn.execute(results_q).one()),
                tuple(sorted(conn.execute(status_q).all())))

    state = run_read(store.engine, read, what="checking for changes")
    running = any(row[1] == "running" for row in state[0])
    tick = int((time.time() if now is None else now) // cost_tick_s) if running else 0
    return hashlib.sha256(repr((state, tick)).encode()).hexdigest()[:20]


class Fingerprints:
    """``fingerprint`` memoised for ``ttl_s``: many clients polling cost one query per key per ``ttl_s``
    (asked only for sweeps the store holds, so it holds one entry per sweep at most)."""

    def __init__(self, store: Store, *, ttl_s: float = FINGERPRINT_TTL_S, cost_tick_s: float = COST_TICK_S) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._cost_tick_s = cost_tick_s
        self._seen: dict[str | None, tuple[float, str]] = {}

    def __call__(self, name: str | None) -> str:
        hit = self._seen.get(name)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        fp = fingerprint(self._store, name, cost_tick_s=self._cost_tick_s)
        if len(self._seen) > 1024:
            self._seen.clear()
        self._seen[name] = (now, fp)
        return fp


class Cache:
    """Built values by key, each with the fingerprint it was built from; at most ``size`` of them (the
    oldest built goes first). Keys are made only of what the store holds (the app checks a sweep's name,
    a trial's id and a plot's axes before it asks), so a client cannot fill the cache with names it made up.
    A build never asks the cache for another key (the app fetches what a build needs first)."""

    _STRIPES = 64  # builds of keys that share a stripe wait on each other: a fixed table, whatever the keys

    def __init__(self, *, min_rebuild_s: float = MIN_REBUILD_S, size: int = 256) -> None:
        self._min_rebuild_s = min_rebuild_s
        self._size = size
        self._entries: dict[str, tuple[str, float, Any]] = {}
        self._locks = [threading.Lock() for _ in range(self._STRIPES)]

    def fingerprint_of(self, key: str) -> str | None:
        """The fingerprint ``key``'s cached value was built from (None: nothing cached)."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def get(self, key: str, fp: str, build: Callable[[str], T]) -> tuple[str, T]:
        """(fingerprint served, value): the cached value when still current (or rebuilt too recently)."""
        entry = self._entries.get(key)
        if entry is not None and (entry[0] == fp or time.monotonic() - entry[1] < self._min_rebuild_s):
            return entry[0], entry[2]
        with self._locks[hash(key) % self._STRIPES]:  # one build per key at a time; the others take its result
            entry = self._entries.get(key)
            if entry is not None and (entry[0] == fp or time.monotonic() - entry[1] < self._min_rebuild_s):
                return entry[0], entry[2]
            value = build(fp)
            self._entries[key] = (fp, time.monotonic(), value)
            if len(self._entries) > self._size:  # many sweeps browsed: forget the oldest
                oldest = min(self._entries, key=lambda k: self._entries[k][1])
                self._entries.pop(oldest, None)
            return fp, value


class Names:
    """The store's sweep names, read again on a miss at most every ``ttl_s``:
    a URL naming a real sweep is answered without a query; a made-up name is looked up once more in the
    store (which names the close ones) and leaves nothing behind."""

    def __init__(self, store: Store, *, ttl_s: float = FINGERPRINT_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._names: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        if name in self._names:
            return True
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl_s:
                self._names = frozenset(self._store.names())
                self._read_at = time.monotonic()
            return name in self._names
