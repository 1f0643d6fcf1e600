"""Ray's storage for a sweep: where it is, whether the name is free there, and whether every node can use it.

The storage is any URI Ray and pyarrow accept (``s3://bucket/prefix``, ``gs://...``, a path on a
shared filesystem); default ``<home>/ray``. Before any trial starts, every node of the cluster
writes, reads back and deletes a probe object there, so a node that cannot see it fails the
sweep in seconds with one line instead of losing its trials' checkpoints later.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

from hpo.results import error_line, mask_url
from hpo.search.errors import SweepInputError

__all__ = ["STORAGE_ENV", "check_store_reachable", "exists", "experiment_uri", "is_uri", "probe_nodes",
           "remove_tree", "resolve_storage"]

logger = logging.getLogger(__name__)

STORAGE_ENV = "HPO_STORAGE"
_PROBE_DIR = ".hpo-probe"
_PROBE_TIMEOUT_S = 60.0  # a node that needs longer than this to write a few bytes is not usable


def is_uri(storage: str) -> bool:
    """A URI with a scheme (``s3://``), as opposed to a path on a filesystem."""
    return "://" in storage and not storage.startswith("file://")


def resolve_storage(spec_storage: str | None, home: Path) -> str:
    """The sweep's storage: the spec's (``storage:`` / ``--storage``), else ``$HPO_STORAGE``, else ``<home>/ray``.

    A path is made absolute (every process must read the same one); a URI is kept as written.
    """
    chosen = spec_storage or os.environ.get(STORAGE_ENV, "").strip() or str(home / "ray")
    if is_uri(chosen):
        return chosen.rstrip("/")
    return str(Path(chosen.removeprefix("file://")).expanduser().absolute())


def experiment_uri(storage: str, name: str) -> str:
    """Ray's experiment directory for sweep ``name`` in ``storage`` (a query string stays at the end)."""
    base, sep, query = storage.partition("?")
    return f"{base.rstrip('/')}/{name}{sep}{query}"


def _filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs

    if not is_uri(uri):
        return pyarrow.fs.LocalFileSystem(), uri
    return pyarrow.fs.FileSystem.from_uri(uri)


def exists(uri: str) -> bool:
    """Whether anything is at ``uri`` (a file or a directory, in any pyarrow filesystem).

    Raises:
        SweepInputError: the storage cannot be reached (bad bucket, credentials, endpoint), one line.
    """
    import pyarrow.fs

    try:
        fs, path = _filesystem(uri)
        return fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound
    except (OSError, ValueError) as exc:
        raise SweepInputError(f"storage: cannot reach {mask_url(uri)}: {error_line(exc)}") from exc


def remove_tree(uri: str) -> None:
    """Delete the directory at ``uri`` and everything under it (``hpo rm --files``: a sweep's experiment).

    Raises:
        SweepInputError: the storage cannot be reached, or the directory not deleted, one line.
    """
    try:
        fs, path = _filesystem(uri)
        fs.delete_dir(path)
    except (OSError, ValueError) as exc:
        raise SweepInputError(f"storage: cannot delete {mask_url(uri)}: {error_line(exc)}") from exc


def _probe(storage: str, token: str) -> str | None:
    """Write, read back and delete one object in ``storage``; None, or the error's first line."""
    try:
        fs, base = _filesystem(storage)
        path = f"{base.rstrip('/')}/{_PROBE_DIR}/{token}"
        fs.create_dir(f"{base.rstrip('/')}/{_PROBE_DIR}", recursive=True)
        with fs.open_output_stream(path) as out:
            out.write(token.encode())
        with fs.open_input_stream(path) as handle:
            read = handle.read().decode()
        fs.delete_file(path)
        return None if read == token else f"read back {read!r} instead of what was written"
    except Exception as exc:  # any filesystem error is the answer, not a crash
        return error_line(exc)


def probe_nodes(storage: str) -> None:
    """Every alive Ray node writes and reads a probe object in ``storage`` (one zero-CPU task pinned to each).

    Raises:
        SweepInputError: a node cannot (one line naming the node and what went wrong), or did not answer.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0, max_retries=0)(_probe)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    pending = {}
    for node in nodes:
        node_id = node["NodeID"]
        strategy = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
        ref = probe.options(scheduling_strategy=strategy).remote(storage, f"{node_id}-{uuid.uuid4().hex}")
        pending[ref] = f"{node.get('NodeManagerAddress', '?')} ({node_id[:8]})"
    ready, late = ray.wait(list(pending), num_returns=len(pending), timeout=_PROBE_TIMEOUT_S)
    for ref in ready:
        try:
            problem = ray.get(ref)
        except Exception as exc:  # the task itself died (worker crash, node lost)
            problem = error_line(exc)
        if problem is not None:
            raise SweepInputError(
                f"storage: node {pending[ref]} cannot write {mask_url(storage)}: {problem}; give every node access "
                f"(credentials, endpoint, the same mount) or choose another storage (--storage)")
    if late:
        raise SweepInputError(
            f"storage: node {pending[late[0]]} did not finish writing a probe to {mask_url(storage)} in "
            f"{_PROBE_TIMEOUT_S:.0f} s; check that node's access to the storage")
    logger.info("storage %s: %d node(s) wrote and read a probe", mask_url(storage), len(nodes))


def check_store_reachable(store_url: str, *, sqlite_path: Path | None, client: bool) -> None:
    """Refuse a SQLite store when the sweep runs on a cluster some node of which is another machine.

    Raises:
        SweepInputError: one line saying to use a store URL every node reaches (PostgreSQL).
    """
    if sqlite_path is None:
        return
    import ray

    alive = [n for n in ray.nodes() if n.get("Alive")]
    mine = ray.get_runtime_context().get_node_id()  # the node this driver is attached to
    here = {n.get("NodeManagerAddress") for n in alive if n.get("NodeID") == mine}
    others = sorted({n.get("NodeManagerAddress", "?") for n in alive} - here)
    if not others and not client:
        return
    where = "through Ray Client" if client else f"with nodes on other machines ({', '.join(others[:3])})"
    raise SweepInputError(
        f"store: a SQLite file on this machine ({sqlite_path}) cannot be shared by a cluster {where}; "
        f"use a store URL every node reaches, e.g. --store postgresql://USER@HOST/DB")
