"""Engines, transactions and upserts that behave alike on SQLite and PostgreSQL.

SQLite: WAL journal (readers never wait for the writer), ``synchronous=NORMAL`` (a commit is
atomic and survives a killed process), a busy timeout, and write transactions that start
with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of deadlocking on a
read-to-write upgrade. Whatever still reports "database is locked" is retried with backoff.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url, tuple_
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from hpo.results.errors import StoreError
from hpo.results.secrets import mask_secrets, mask_url

__all__ = ["make_engine", "mask", "run_read", "run_write", "sqlite_file", "upsert"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BUSY_TIMEOUT_S = 10.0  # SQLite waits this long on a lock before reporting "database is locked"
_RETRY_FOR_S = 120.0  # then we back off and retry for up to this long
_LOCK_WORDS = ("database is locked", "database is busy", "deadlock detected", "could not serialize")


def mask(url: str | URL) -> str:
    """The URL with every secret replaced by ``***`` (safe to print or log): :func:`results.mask_url`'s rule."""
    return mask_url(url.render_as_string(hide_password=False) if isinstance(url, URL) else url)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and IMMEDIATE write transactions.

    Args:
        url: Any SQLAlchemy URL.
        create: Create a SQLite file's folder when missing. Read-only callers pass False and
            check that the store exists first (:func:`sqlite_file`).

    Raises:
        StoreError: the URL cannot be parsed, names a driver that is not installed, or its
            SQLite folder cannot be created.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StoreError(f"store URL {mask_url(url)!r} is not a SQLAlchemy URL "
                         "(e.g. sqlite:///runs/store.sqlite)") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, create=create)
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(_driver_missing(parsed, exc)) from exc


def _driver_missing(url: URL, exc: ImportError) -> str:
    if url.get_backend_name() == "postgresql":
        # The extra holds the drivers a plain postgresql:// picks (psycopg on SQLAlchemy 2.1, psycopg2 on 2.0).
        return (f"store {mask(url)}: no PostgreSQL driver for {url.drivername}:// ({exc}); "
                f"pip install 'hpo-service[postgres]'")
    return f"store {mask(url)}: database driver missing ({exc})"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for other databases and in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


def _sqlite_engine(url: URL, *, create: bool) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if create:
            folder = Path(database).expanduser().absolute().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store {mask(url)}: cannot create its folder {folder} "
                                 f"({exc.strerror or exc})") from exc
        engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred-only).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("hpo_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _is_lock_error(exc: DBAPIError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return any(word in text for word in _LOCK_WORDS)


def _retrying(engine: Engine, fn: Callable[[Connection], T], *, write: bool, what: str) -> T:
    delay = 0.02
    deadline = time.monotonic() + _RETRY_FOR_S
    target = engine.execution_options(hpo_write=True) if write else engine
    while True:
        try:
            with target.begin() as conn:
                return fn(conn)
        except (OperationalError, DBAPIError) as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"store {mask(engine.url)}: {what} failed: {mask_secrets(_one_line(exc))}") from exc
            if time.monotonic() > deadline:
                raise StoreError(
                    f"store {mask(engine.url)}: {what} gave up after {_RETRY_FOR_S:.0f} s: database is locked"
                ) from exc
            logger.debug("store locked during %s; retrying in %.2f s", what, delay)
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 1.0)


def run_write(engine: Engine, fn: Callable[[Connection], T], *, what: str) -> T:
    """Run ``fn`` in one write transaction, retrying the whole of it while the store is locked."""
    return _retrying(engine, fn, write=True, what=what)


def run_read(engine: Engine, fn: Callable[[Connection], T], *, what: str) -> T:
    """Run ``fn`` in one read transaction (a consistent snapshot), retrying on lock errors."""
    return _retrying(engine, fn, write=False, what=what)


def _one_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return " ".join(str(inner).split())[:300]


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Iterable[str],
) -> None:
    """Insert ``rows``; a row whose ``keys`` already exist updates the ``update`` columns instead."""
    if not rows:
        return
    update = list(update)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={name: stmt.excluded[name] for name in update}
        )
        conn.execute(stmt, list(rows))
        return
    # Portable fallback for other backends: update what exists, insert the rest.
    key_cols = [table.c[k] for k in keys]
    wanted = [tuple(row[k] for k in keys) for row in rows]
    existing = {tuple(r) for r in conn.execute(table.select().with_only_columns(*key_cols).where(
        tuple_(*key_cols).in_(wanted)))}
    for row, key in zip(rows, wanted, strict=True):
        if key in existing:
            cond = [col == row[col.name] for col in key_cols]
            conn.execute(table.update().where(*cond).values({name: row[name] for name in update}))
        else:
            conn.execute(table.insert().values(row))
