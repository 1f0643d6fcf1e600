"""Shared fixtures: one real local Ray per test session, a temporary run home per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Ray's token made once, up front; Ray Train's poll interval; under pytest-xdist, a PostgreSQL
    database per worker.

    Each worker's database is ``<db>_gw0``, ...: the store tests drop every table before and after
    each test, and two workers on one database would drop each other's tables mid-test.
    """
    # A Ray Train controller polls its workers for reports and their end every 2 s by default; the
    # multi-worker tests' trials wait on those polls epoch after epoch. Every Ray the tests start
    # (the session's, `ray start` nodes, subprocess drivers) inherits this.
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.5")
    # The suite is CPU-bound on 2 cores and most of its CPU is Ray's own processes (issue 21). Off for
    # the tests, as nothing of hpo reads them: every worker's metrics export to its node's agent,
    # every worker's task events to the GCS (Ray's state API and dashboard), the idle workers a
    # node starts ahead for its first driver (a trial's actor starts its own when it needs one), and
    # Ray Train's preemption watcher (an actor per worker group, for spot instances).
    for name, value in (("RAY_enable_metrics_collection", "0"), ("RAY_task_events_report_interval_ms", "0"),
                        ("RAY_prestart_worker_first_driver", "0"), ("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")):
        os.environ.setdefault(name, value)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        # Before any Ray starts: on a new machine the workers' Ray instances and the tests' own
        # `ray start`s would otherwise race to write Ray's first token (see search/ray_token.py).
        from hpo.search.cluster.ray_token import ensure_local_token

        ensure_local_token()
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
    """Order the run for 2 cores, and skip ``@pytest.mark.gpu`` tests where CUDA is absent."""
    _slow_first(items)
    _skip_gpu_without_cuda(items)


def _slow_first(items: list[pytest.Item]) -> None:
    """The modules in order of their estimated time, longest first (a stable sort that keeps each
    module's tests together): a ``slow`` test counts its mark's ``seconds`` (20 unless given), another
    integration test 5, any other test 0.5.

    ``make test`` hands whole modules to the xdist workers (``--dist loadfile``: a module's fixtures,
    such as a two-node ``ray start`` cluster or an MLflow server, start once per run) in this order
    (``--no-loadscope-reorder``), so the workers start on the long modules and end on short ones
    instead of waiting on one long test at the end.
    """
    def estimate(item: pytest.Item) -> float:
        slow = item.get_closest_marker("slow")
        if slow is not None:
            return float(slow.kwargs.get("seconds", 20))
        return 5.0 if "integration" in item.keywords else 0.5

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    total: dict[str, float] = {}
    for item in items:
        total[module(item)] = total.get(module(item), 0.0) + estimate(item)
    items.sort(key=lambda item: -total[module(item)])


def _skip_gpu_without_cuda(items: list[pytest.Item]) -> None:
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
