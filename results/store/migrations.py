"""The store's schema on open: created when absent, migrated from an older hpo's, refused when newer.

Every ``Store.open`` passes here first. Creating is safe against another process creating the same
store at the same moment; a migration runs in one transaction (``schema.MIGRATIONS``: the columns each
version added), so a store is never left half-migrated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, select, text

from hpo.results.errors import StoreError
from hpo.results.store.db import run_read, run_write
from hpo.results.store.env import versions
from hpo.results.store.schema import MIGRATIONS, SCHEMA_VERSION, metadata, schema_version_table, sweeps_table

__all__ = ["prepare_schema", "read_version"]

logger = logging.getLogger(__name__)


def read_version(engine: Engine) -> int | None:
    """The schema version the database holds, or None when it holds no hpo tables."""
    def read(conn: Connection) -> int | None:
        if not inspect(conn).has_table("schema_version"):
            return None
        return conn.execute(select(schema_version_table.c.version)).scalar()

    return run_read(engine, read, what="reading the schema version")


def prepare_schema(engine: Engine, *, shown: str, create: bool = True) -> None:
    """Make the database hold this hpo's schema.

    Args:
        engine: The store's engine.
        shown: The store's URL with its secrets masked, for messages.
        create: Create the tables when there are none; False: refuse instead.

    Raises:
        StoreError: No hpo tables (``create=False``), or a schema newer than this hpo reads.
    """
    found = read_version(engine)
    if found is None and not create:
        raise StoreError(f"no store at {shown}: the database holds no hpo tables")
    if found is None:
        def write(conn: Connection) -> None:
            metadata.create_all(conn, checkfirst=True)
            if conn.execute(select(schema_version_table.c.version)).scalar() is None:
                conn.execute(schema_version_table.insert().values(
                    id=1, version=SCHEMA_VERSION, written_by=versions()["hpo"]))

        try:
            run_write(engine, write, what="creating the schema")
        except StoreError:
            # Another process may have created it at the same moment: read again.
            if read_version(engine) is None:
                raise
        found = read_version(engine)
    if found is not None and found > SCHEMA_VERSION:
        raise StoreError(
            f"store {shown} has schema version {found}, newer than this hpo reads "
            f"({SCHEMA_VERSION}); upgrade hpo to open it"
        )
    if found is not None and found < SCHEMA_VERSION:
        _migrate(engine, found, shown=shown)


def _migrate(engine: Engine, found: int, *, shown: str) -> None:
    """Bring a store written by an older hpo up to ``SCHEMA_VERSION``, in one transaction."""
    def write(conn: Connection) -> None:
        version = conn.execute(select(schema_version_table.c.version)).scalar() or found
        have = {table: {c["name"] for c in inspect(conn).get_columns(table)} for table in ("sweeps", "trials")}
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for table, column, sql_type in MIGRATIONS.get(step, ()):
                if column not in have[table]:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
        if version < 2:  # v1 kept Ray's experiment directory only; its storage is the folder above it
            for sweep_id, path in conn.execute(select(sweeps_table.c.id, sweeps_table.c.experiment_path)):
                if path:
                    conn.execute(sweeps_table.update().where(sweeps_table.c.id == sweep_id).values(
                        storage_path=str(Path(path).parent)))
        conn.execute(schema_version_table.update().values(version=SCHEMA_VERSION))

    run_write(engine, write, what=f"migrating the schema from version {found} to {SCHEMA_VERSION}")
    logger.info("store %s migrated from schema version %d to %d", shown, found, SCHEMA_VERSION)
