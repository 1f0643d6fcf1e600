"""A private PostgreSQL for one test session: ``initdb`` into a temporary folder, ``postgres`` on a free
loopback port, stopped by its pid at the end; the folder goes with it.

``tests/conftest.py`` starts it when ``HPO_TEST_PG_URL`` is unset and the server's programs are here (on
``PATH``, or Debian's ``/usr/lib/postgresql/<version>/bin``), so ``make test`` runs the PostgreSQL cases as
CI does. PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user that
Debian's package makes.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PostgresUnavailable", "PrivatePostgres", "find_server", "start_postgres", "stop_postgres"]

_DEBIAN = Path("/usr/lib/postgresql")
_USER, _DATABASE = "hpo", "hpo_test"


class PostgresUnavailable(Exception):
    """No PostgreSQL server can run here; the message says why, in one line."""


@dataclass(frozen=True)
class PrivatePostgres:
    url: str  # postgresql+psycopg2://hpo@127.0.0.1:PORT/hpo_test
    proc: subprocess.Popen[bytes]
    folder: Path  # the data folder, its socket and its log


def find_server() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: ``PATH`` first, then Debian's newest version."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        folder = Path(initdb).resolve().parent
        if (folder / "postgres").is_file():
            return folder
    versions = sorted((p for p in _DEBIAN.glob("*/bin") if (p / "initdb").is_file() and (p / "postgres").is_file()),
                      key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dies_with_this_process() -> Callable[[], None] | None:
    """For the server's process: Linux sends it SIGQUIT (immediate shutdown) if the test session dies first.

    Looked up here, in this process: the child between fork and exec only calls it.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _removed_on_error(folder: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def start_postgres(timeout: float = 60) -> PrivatePostgres:
    """Start the private server with an empty ``hpo_test`` database; its URL (user ``hpo``, trust auth on loopback).

    Raises:
        PostgresUnavailable: no server programs here, or root with no ``postgres`` user to run them as.
        RuntimeError: the programs are here but the server did not start (its log's last lines).
    """
    bindir = find_server()
    if bindir is None:
        raise PostgresUnavailable(f"no PostgreSQL server programs (initdb, postgres) on PATH or in {_DEBIAN}/*/bin")
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root, which PostgreSQL refuses, and there is no `postgres` "
                                      "user to run it as") from None
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    folder = Path(tempfile.mkdtemp(prefix="hpo-pg-"))  # short: the socket's path must stay under 107 bytes
    if run_as:
        os.chown(folder, run_as["user"], run_as["group"])
    data, log = folder / "data", folder / "server.log"
    env = {**os.environ, "LC_ALL": "C", "HOME": str(folder)}
    done = subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust", "-E", "UTF8",
                           "--locale=C", "--no-sync"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, **run_as)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb exited {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    port = _free_port()
    with log.open("wb") as out, _removed_on_error(folder):
        # No durability needed (the folder is thrown away): no fsync, no full-page writes, async commits.
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(folder),
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_dies_with_this_process(), **run_as)
    server = PrivatePostgres(f"postgresql+psycopg2://{_USER}@127.0.0.1:{port}/{_DATABASE}", proc, folder)
    try:
        _create_database(server, port, timeout)
    except BaseException:
        stop_postgres(server)
        raise
    return server


def _create_database(server: PrivatePostgres, port: int, timeout: float) -> None:
    import pytest
    from harness import wait_for
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(f"postgresql+psycopg2://{_USER}@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
    try:
        def connected() -> bool:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{_DATABASE}"'))
            return True

        try:
            wait_for(connected, timeout=timeout, every=0.1, proc=server.proc, ignore=(OperationalError,),
                     what=f"the private PostgreSQL on 127.0.0.1:{port} to accept connections")
        except pytest.fail.Exception as exc:  # outside a test: say it as the server's failure
            tail = (server.folder / "server.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{exc}; its log ends: {' | '.join(tail)}") from None
    finally:
        engine.dispose()


def stop_postgres(server: PrivatePostgres) -> None:
    """Fast shutdown by the server's pid (SIGINT), SIGKILL to its process group after 30 s; the folder removed."""
    proc = server.proc
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    shutil.rmtree(server.folder, ignore_errors=True)
