"""Processes a killed driver's local Ray leaves behind, recorded by pid and ended by pid.

When ``hpo sweep`` is killed with SIGKILL, its local Ray's ``gcs_server`` and ``raylet`` die with
it, but the raylet's ``DashboardAgent`` and ``RuntimeEnvAgent`` (about 170 MB) are adopted by
init and ignore SIGTERM. So a driver that starts a local instance records, under the run home,
the pid and start time of every process below it; the next hpo command on that home ends the
recorded processes of a driver that is gone. Processes are matched by pid AND start time (a
reused pid is left alone), never by name. Linux only (``/proc``); elsewhere nothing is recorded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from pathlib import Path

__all__ = ["reap_orphans", "record_local_ray", "records_dir"]

logger = logging.getLogger(__name__)

_PROC = Path("/proc")


def records_dir(home: str | os.PathLike[str]) -> Path:
    """``<home>/ray/.local-ray``: one ``<driver pid>.json`` per driver that started a local Ray."""
    return Path(home) / "ray" / ".local-ray"


def _stat(pid: int) -> tuple[int, str] | None:
    """``(parent pid, start time in clock ticks)`` of a live process, or None."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie has already exited; its parent only has to reap it
        return None
    return int(fields[1]), fields[19]


def _descendants(root: int) -> list[tuple[int, str]]:
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                children.setdefault(found[0], []).append((int(entry.name), found[1]))
    out: list[tuple[int, str]] = []
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            out.append((pid, start))
            todo.append(pid)
    return out


def record_local_ray(home: str | os.PathLike[str]) -> Path | None:
    """Record this driver and every process below it (the local Ray it just started).

    Returns:
        The record's path, or None where processes cannot be listed (not Linux) or the home
        cannot be written (then nothing is cleaned up later, and the sweep still runs).
    """
    me = _stat(os.getpid())
    if me is None:
        return None
    record = {"driver": [os.getpid(), me[1]], "processes": _descendants(os.getpid())}
    path = records_dir(home) / f"{os.getpid()}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    except OSError as exc:
        logger.debug("cannot record the local Ray's processes in %s: %s", path, exc)
        return None
    return path


def _alive(pid: int, start: str) -> bool:
    found = _stat(pid)
    return found is not None and found[1] == start


def reap_orphans(home: str | os.PathLike[str]) -> list[int]:
    """End the recorded processes of drivers that are gone; drop their records.

    A record whose driver still runs is kept. Safe to call from any hpo command, any number
    of times, with or without a record.

    Returns:
        The pids that were sent SIGKILL.
    """
    folder = records_dir(home)
    if not folder.is_dir():
        return []
    killed: list[int] = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            driver_pid, driver_start = record["driver"]
            processes = [(int(pid), str(start)) for pid, start in record["processes"]]
        except (OSError, ValueError, KeyError, TypeError):
            logger.debug("ignoring unreadable local-Ray record %s", path)
            continue
        if _alive(int(driver_pid), str(driver_start)):
            continue
        for pid, start in processes:
            if _alive(pid, start):
                # SIGKILL: the agents ignore SIGTERM once their raylet is gone.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        with contextlib.suppress(OSError):
            path.unlink()
    if killed:
        logger.info("ended %d process(es) a killed hpo driver's local Ray left behind: %s", len(killed), killed)
    return killed
