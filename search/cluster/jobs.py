"""Sweeps run as Ray Jobs on a cluster: submit and detach, status, logs, a graceful stop.

``submit`` ships the resolved spec (and the user's trainable module, when it lives beside the
spec or in the working directory) in the job's ``runtime_env`` working_dir, each job in its own
directory, and runs ``hpo sweep`` (or ``hpo resume``) there as the job's driver. A command trainable's
working_dir is the spec's folder itself (``hpo.search.cluster.shipping``). It returns once
the driver passed its checks and recorded itself in the store, so bad input (a name taken, a
storage some node cannot write, a store the cluster cannot reach) still ends in one line here.

The driver records the job id and the job server's address in the store, so ``status``, ``logs``
and ``stop`` need only the sweep's name. A stop is Ray's ``stop_job`` with SIGINT, which Tune
handles gracefully: the sweep ends ``interrupted`` and resumes later.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hpo.results import Store, SweepRecord, error_line, mask_secrets, mask_url
from hpo.search.cluster import shipping, storage
from hpo.search.engine.checks import import_paths
from hpo.search.engine.driver import JOB_ADDRESS_ENV, JOB_ID_ENV, check_not_running, driver_alive, this_host
from hpo.search.errors import SweepInputError
from hpo.spaces import SweepSpec

__all__ = ["JobView", "job_logs", "job_status", "stop_sweep", "submit_sweep"]

logger = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
_AGENT_WAIT_S = 60.0  # a freshly started head needs a moment before its job agent takes jobs
_STOP_GRACE_S = 120  # Ray sends SIGINT, then SIGKILL after this long: time for Tune to save its state
_DRIVER = "python -c 'from hpo.search.cli import main; main()'"
_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass(frozen=True)
class JobView:
    """A submitted sweep as its job server and the store see it."""

    job_id: str
    state: str  # Ray's job status: PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED
    sweep: SweepRecord


def _client(address: str, *, field: str = "--address") -> Any:
    """A ``JobSubmissionClient`` for ``address``, failing in seconds with one line when nobody answers, or when
    the job server wants Ray's token and the one at hand is missing or refused (``ray_token.present_token_http``:
    a token at hand is sent without ``RAY_AUTH_MODE=token`` being set)."""
    from ray.job_submission import JobSubmissionClient

    from hpo.search.cluster.ray_token import present_token_http

    url = address if "://" in address else f"http://{address}"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 8265),
                                      timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise _unreachable(address, field, exc) from exc
    present_token_http(url, field=field)
    try:
        return JobSubmissionClient(address)
    except (OSError, RuntimeError, ValueError) as exc:
        raise _unreachable(address, field, exc) from exc


def _unreachable(address: str, field: str, exc: Exception) -> SweepInputError:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else error_line(exc)
    return SweepInputError(
        f"{field}: cannot reach the Ray job server at {mask_url(address)}: {why}; is the cluster up "
        f"(`ray start --head --dashboard-host=0.0.0.0`) and is that its dashboard port (default 8265)?")


def _loopback(address: str) -> bool:
    host = urlsplit(address if "://" in address else f"http://{address}").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1", this_host())


def _user_module(spec: SweepSpec) -> Path | None:
    """The file or package of a ``pkg.mod:fn`` trainable that lives in the working dir or beside the spec."""
    if not isinstance(spec.trainable, str) or ":" not in spec.trainable:  # a command ships its spec's folder
        return None
    top = spec.trainable.split(":", 1)[0].split(".")[0]
    with import_paths(spec):
        found = importlib.util.find_spec(top)
    origin = Path(found.origin) if found is not None and found.origin else None
    if origin is None:
        return None
    roots = [Path.cwd().resolve()]
    if spec.source and Path(spec.source).is_file():
        roots.append(Path(spec.source).resolve().parent)
    source = origin.parent if origin.name == "__init__.py" else origin
    return source if any(source.resolve().parent == root for root in roots) else None


def _working_dir(spec: SweepSpec, where: str, folder: Path) -> str:
    """This job's own directory: its spec (storage resolved) and the user's module; jobs never share one.

    Kept under the home as the record of what was submitted (Ray may read it after the submit returns).
    """
    folder.mkdir(parents=True, exist_ok=False)
    (folder / "spec.yaml").write_text(spec.model_copy(update={"storage": where}).to_yaml())
    module = _user_module(spec)
    if module is not None and module.is_dir():
        shutil.copytree(module, folder / module.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    elif module is not None:
        shutil.copy2(module, folder / module.name)
    return str(folder)


def submit_sweep(
    spec: SweepSpec,
    *,
    address: str,
    store: Store,
    home: Path,
    resume: bool = False,
    wait_s: float = 300.0,
    spec_dir: str | Path | None = None,
) -> str:
    """Run the sweep's driver on the cluster as a Ray Job; return its id once the driver is recorded.

    Args:
        spec: The validated spec (its ``storage``, or ``$HPO_STORAGE``, else ``<home>/ray``).
        address: The job server, ``http://HEAD:8265``.
        store: The store; its URL goes to the driver, so every node must reach it.
        home: The run home (the default storage is under it).
        resume: Continue the interrupted (or lost) sweep ``spec.name`` instead of starting it.
        wait_s: How long to wait for the driver to pass its checks and record itself.
        spec_dir: A command sweep's folder to ship, when not the spec's own (``hpo confirm --submit``: the
            parent sweep's); default the folder the spec was read from.

    Raises:
        SweepInputError: the job server cannot be reached; the store is a SQLite file the cluster
            cannot reach; the name is taken (or, with ``resume``, nothing to resume); a command's spec
            folder packs above the job server's limit; the driver refused the sweep (its one line:
            storage a node cannot write, resources...).
    """
    from hpo.search.engine.store import check_name_free
    from hpo.trainables.command.checks import spec_dir_of

    if store.sqlite_path is not None and not _loopback(address):
        raise SweepInputError(
            f"store: a SQLite file on this machine ({store.sqlite_path}) cannot be reached by a driver on "
            f"{mask_url(address)}; use a store URL every node reaches, e.g. --store postgresql://USER@HOST/DB")
    where = storage.resolve_storage(spec.storage, home)
    shipped: Path | None = None
    if resume:
        record = store.get_sweep(spec.name)
        if record.status == "finished":
            raise SweepInputError(f"sweep {spec.name!r} already finished; nothing to resume "
                                  f"(`hpo extend {spec.name} --samples N` adds trials)")
        check_not_running(record)
        where = record.storage_path or where
        if spec.command is not None:
            shipped = shipping.recorded_folder(record, home)
    else:
        check_name_free(store, spec.name, storage.experiment_uri(where, spec.name))
        if spec.command is not None:
            shipped = spec_dir_of(spec, given=spec_dir)
    if shipped is not None:
        shipping.check_folder_size(shipped)  # before the job server sees an upload it would refuse
    client = _client(address)
    job_id = f"hpo-{spec.name}-{uuid.uuid4().hex[:8]}"
    command = f"resume {spec.name}" if resume else 'sweep "$HPO_JOB_SPEC"'
    folder = _working_dir(spec, where, home / "jobs" / job_id)
    # The driver leaves the working_dir: Ray re-extracts it (same path) once the driver's own
    # tasks set up the job's runtime env, which would strand a driver whose cwd it is. The
    # directory stays on PYTHONPATH, so the user's module still imports.
    entrypoint = f'HPO_JOB_SPEC="$PWD/spec.yaml"; cd "$(mktemp -d)" && {_DRIVER} {command} -q'
    extra: dict[str, str] = {}
    if shipped is not None:
        shipping.remember_folder(Path(folder), shipped)
        entrypoint, extra = shipping.command_entrypoint(
            _DRIVER, spec_yaml=None if resume else (Path(folder) / "spec.yaml").read_text(), name=spec.name)
        folder = str(shipped)
    options = dict(
        entrypoint=entrypoint,
        submission_id=job_id,
        runtime_env={"working_dir": folder, "env_vars": {
            JOB_ID_ENV: job_id, JOB_ADDRESS_ENV: address, "HPO_STORE": store.url, **extra,
            # Ray stops a job with SIGTERM then SIGKILL 3 s later; Tune needs SIGINT and time to save.
            "RAY_JOB_STOP_SIGNAL": "SIGINT", "RAY_JOB_STOP_WAIT_TIME_S": str(_STOP_GRACE_S)}})
    deadline = time.monotonic() + _AGENT_WAIT_S
    while True:
        try:
            client.submit_job(**options)
            break
        except (RuntimeError, OSError, ValueError) as exc:
            # A cluster that just started has no job agent yet; Ray says to try again.
            if "try again later" in str(exc) and time.monotonic() < deadline:
                time.sleep(2.0)
                continue
            raise SweepInputError(
                f"--address: the Ray job server at {mask_url(address)} refused the job: {error_line(exc)}") from exc
    _await_driver(client, job_id, spec.name, store, wait_s=wait_s)
    return job_id


def _await_driver(client: Any, job_id: str, name: str, store: Store, *, wait_s: float) -> None:
    """Wait until the job's driver records itself in the store; a job that ends first refused the sweep."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        record = store.find_sweep(name)
        if record is not None and record.job_id == job_id:
            return
        state = str(client.get_job_status(job_id)).rsplit(".", 1)[-1]
        if state in _TERMINAL:
            lines = [line for line in (client.get_job_logs(job_id) or "").splitlines() if line.strip()]
            why = next((line for line in reversed(lines) if line.startswith("hpo ")), lines[-1] if lines else state)
            raise SweepInputError(f"job {job_id} ended ({state}) before the sweep started: {mask_secrets(why.strip())}")
        time.sleep(1.0)
    logger.warning("job %s has not started its sweep after %.0f s; `hpo status %s` follows it", job_id, wait_s, name)


def _job_of(store: Store, name: str) -> tuple[SweepRecord, Any]:
    record = store.get_sweep(name)
    if not record.job_id or not record.job_address:
        raise SweepInputError(
            f"sweep {name!r} was not submitted as a Ray job (driver pid {record.driver_pid} on "
            f"{record.driver_host}); `hpo ls` and `hpo trials {name}` show its progress")
    return record, _client(record.job_address, field="job server")


def job_status(name: str, *, store: Store) -> JobView:
    """The submitted sweep's job state (Ray's) and its record (trials by status).

    Raises:
        SweepInputError: the sweep was not submitted, or its job server cannot be reached.
    """
    record, client = _job_of(store, name)
    state = str(client.get_job_status(record.job_id)).rsplit(".", 1)[-1]
    return JobView(job_id=str(record.job_id), state=state, sweep=record)


def job_logs(name: str, *, store: Store, follow: bool = False) -> Iterator[str]:
    """The driver's output: all of it, or (``follow``) chunks as they come until the job ends."""
    record, client = _job_of(store, name)
    if not follow:
        yield client.get_job_logs(record.job_id)
        return
    loop = asyncio.new_event_loop()
    tail = client.tail_job_logs(record.job_id).__aiter__()
    try:
        while True:
            try:
                yield loop.run_until_complete(tail.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.close()


def stop_sweep(name: str, *, store: Store, wait_s: float = 180.0) -> SweepRecord:
    """Stop a running sweep gracefully (SIGINT to its driver) and wait until it is recorded ``interrupted``.

    A submitted sweep is stopped through its job server; a foreground one on this host by its pid.

    Raises:
        SweepInputError: the sweep is not running, or its driver is on another host and not a job.
    """
    record = store.get_sweep(name)
    if record.status != "running":
        raise SweepInputError(f"sweep {name!r} is not running (status {record.status}); nothing to stop")
    if record.job_id and record.job_address:
        _job_of(store, name)[1].stop_job(record.job_id)
    elif record.driver_host == this_host() and record.driver_pid and driver_alive(record):
        os.kill(record.driver_pid, signal.SIGINT)
    else:
        where = f"pid {record.driver_pid} on {record.driver_host}" if record.driver_pid else "an unknown driver"
        raise SweepInputError(
            f"sweep {name!r} runs in the foreground ({where}); stop it there with Ctrl-C")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        record = store.get_sweep(name)
        if record.status != "running" or not driver_alive(record):
            return record
        time.sleep(1.0)
    return store.get_sweep(name)

