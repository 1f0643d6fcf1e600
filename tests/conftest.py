"""Shared fixtures: one real local Ray per test session, a temporary run home per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets a PostgreSQL database of its own (``<db>_gw0``, ...).

    The store tests drop every table before and after each test: two workers on one database
    would drop each other's tables mid-test.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("HPO_TEST_PG_URL")
    if not worker or not url:
        return
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url)
    mine = base.set(database=f"{base.database}_{worker}")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": mine.database}).scalar() is None:
            conn.execute(text(f'CREATE DATABASE "{mine.database}"'))
    engine.dispose()
    os.environ["HPO_TEST_PG_URL"] = mine.render_as_string(hide_password=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.gpu`` tests where CUDA is absent, with the reason shown."""
    if not any("gpu" in item.keywords for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One real local Ray instance for the whole session: 2 CPUs and 2 *logical* GPUs.

    Declaring GPUs that do not exist lets the tests check GPU allocation and fractional
    packing on a CPU-only machine; trials still run their code on the CPU.
    """
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",  # never a cluster `ray start` or RAY_ADDRESS points at
            num_cpus=2,
            num_gpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            object_store_memory=300 * 1024 * 1024,
        )
    yield
    ray.shutdown()


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh run home (``HPO_HOME``) with no store URL inherited from the environment."""
    home = tmp_path / "runs"
    monkeypatch.setenv("HPO_HOME", str(home))
    monkeypatch.delenv("HPO_STORE", raising=False)
    return home


@pytest.fixture(autouse=True)
def _no_network_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never download data sets: make any attempt fail loudly and fast."""
    monkeypatch.setenv("HPO_OFFLINE", "1")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
