"""Shared fixtures and session setup: one real local Ray per test session, a temporary run home per
test, a private Ray token and a private PostgreSQL, headless Chromium; and a check that every test
carries the mark of what it starts (``integration`` for Ray, ``browser`` for Chromium), as
``make test-quick`` selects by marks alone."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import CHROMIUM, ChromiumLauncher

PG_ENV = "HPO_TEST_PG_URL"
_POSTGRES = pytest.StashKey[object]()  # the private server this session started (pg_server.PrivatePostgres)
_PG_LINE = pytest.StashKey[str]()  # what the session does for PostgreSQL, in one line
_TOKEN_DIR = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Ray's settings for the tests; once per session (not per xdist worker), a private Ray token and
    PostgreSQL; under pytest-xdist, a PostgreSQL database per worker.

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
    if not worker:  # the session's own process; xdist workers start later and inherit what it sets here
        _private_ray_token(config)
        _choose_postgres(config)
    url = os.environ.get(PG_ENV)
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
    os.environ[PG_ENV] = mine.render_as_string(hide_password=False)


def _private_ray_token(config: pytest.Config) -> None:
    """Every Ray the tests start (in-process, ``ray start``, ``hpo`` subprocesses) reads its token from
    a file of this session's, never the user's ``~/.ray/auth_token`` (``RAY_AUTH_TOKEN_PATH``: Ray's
    own setting; hpo then leaves the token to Ray, see ``hpo.search.cluster.ray_token``).

    Made whole before any Ray starts, so nothing races to write it.
    """
    folder = Path(tempfile.mkdtemp(prefix="hpo-ray-token-"))
    token = folder / "auth_token"
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))  # Ray's format: 256 bits as hex
    os.environ.pop("RAY_AUTH_TOKEN", None)  # it would win over the file
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    config.stash[_TOKEN_DIR] = folder


def _choose_postgres(config: pytest.Config) -> None:
    """``HPO_TEST_PG_URL`` set: that database (CI's, or yours); set but empty: none (``make test-quick``);
    unset: a private server when PostgreSQL's programs are here (``tests/pg_server.py``), else none,
    said in one line at the end of the run."""
    url = os.environ.get(PG_ENV)
    if url:
        from sqlalchemy import make_url

        config.stash[_PG_LINE] = f"postgresql: {make_url(url).render_as_string(hide_password=True)} ({PG_ENV})"
        return
    if url is not None:
        config.stash[_PG_LINE] = f"postgresql: off ({PG_ENV} is empty)"
        return
    from pg_server import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as why:
        config.stash[_PG_LINE] = (f"postgresql: left out, {why}: the store tests ran on SQLite only and the "
                                  f"cluster tests were skipped (install PostgreSQL, or set {PG_ENV})")
        return
    except RuntimeError as why:
        raise pytest.UsageError(f"the private PostgreSQL did not start: {why}; run without PostgreSQL with "
                                f"{PG_ENV}= (empty)") from None
    config.stash[_POSTGRES] = server
    os.environ[PG_ENV] = server.url
    config.stash[_PG_LINE] = f"postgresql: a private server at {server.url} (tests/pg_server.py)"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what ``pytest_configure`` started: the private PostgreSQL (by its pid), the token's folder."""
    server = config.stash.get(_POSTGRES, None)
    if server is not None:
        from pg_server import stop_postgres

        stop_postgres(server)  # type: ignore[arg-type]
    folder = config.stash.get(_TOKEN_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash.get(_PG_LINE, None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The one line saying PostgreSQL was left out, where a quiet run (``-q``) shows it too."""
    line = config.stash.get(_PG_LINE, "")
    if line.startswith("postgresql: left out"):
        terminalreporter.write_line(line)


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


# What a fixture starts, and the mark every test using it carries: `make test-quick` leaves tests out by
# their marks alone, so a test that starts Ray or a browser without its mark would slow the edit loop.
STARTS = {"ray_session": ("integration", "a real local Ray"), "chromium": ("browser", "headless Chromium")}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail, before it starts anything, a test whose fixtures start Ray or Chromium without the mark."""
    for fixture, (mark, what) in STARTS.items():
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(mark) is None:
            pytest.fail(f"{item.nodeid} uses `{fixture}` ({what}) but is not marked @pytest.mark.{mark}; "
                        "mark it so that `make test-quick` leaves it out", pytrace=False)


def _ray_up() -> bool:
    ray = sys.modules.get("ray")  # never imported: never started
    return ray is not None and bool(ray.is_initialized())


@pytest.fixture(autouse=True)
def _starts_ray_only_when_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that started Ray in its body (``request.getfixturevalue("ray_session")``, ``ray.init``)
    without the ``integration`` mark: what ``pytest_runtest_setup`` cannot see in its fixtures."""
    before = _ray_up()
    yield
    if not before and _ray_up() and request.node.get_closest_marker("integration") is None:
        pytest.fail(f"{request.node.nodeid} started Ray but is not marked @pytest.mark.integration; mark it so "
                    "that `make test-quick` leaves it out", pytrace=False)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One real local Ray instance for the whole session: 2 CPUs and 2 *logical* GPUs.

    Declaring GPUs that do not exist lets the tests check GPU allocation and fractional
    packing on a CPU-only machine; trials still run their code on the CPU. Tests that use it
    carry ``@pytest.mark.integration`` (checked by ``pytest_runtest_setup``).
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


@pytest.fixture
def chromium() -> ChromiumLauncher:
    """Debian's headless Chromium, to launch per page or per run (``tests/harness.py``); skips, saying
    why, where it is absent. Tests that use it carry ``@pytest.mark.browser``."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)")
    return ChromiumLauncher(CHROMIUM)
