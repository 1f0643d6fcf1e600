"""Which databases the store tests ran on: SQLite always, PostgreSQL when ``HPO_TEST_PG_URL`` is set."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from .conftest import PG_ENV


def test_postgresql_backend_is_reachable() -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} unset: the store tests ran on SQLite only (tests/conftest.py starts a private "
                    "PostgreSQL where its server programs are installed)")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
