"""Processes a killed driver's local Ray leaves behind, recorded by pid and ended by pid.

When ``hpo sweep`` is killed with SIGKILL, its local Ray's ``gcs_server`` and ``raylet`` die with
it, but the raylet's ``DashboardAgent`` and ``RuntimeEnvAgent`` (about 170 MB) are adopted by
init and ignore SIGTERM. So a driver that starts a local instance records, under the run home,
the pid and start time of every process below it; the next hpo command on that home ends the
recorded processes of a driver that is gone. Processes are matched by pid AND start time (a
reused pid is left alone), never by name. Linux only (``/proc``); elsewhere nothing is recorded.

A command trial's script runs in a process group of its own, watched by a guard that ends it when the
trial's actor dies; each trial folder records them in ``.hpo-command.json`` (``pid``, ``pgid``,
``guard_pid``, and their start times when known). Should the guard be gone too, or still waiting out
the grace, :func:`reap_command_leftovers` ends what a dead driver's trials left, before a resume starts
the same trials again in the same folders.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from pathlib import Path

from hpo.trainables.command.trial import COMMAND_RECORD

__all__ = ["COMMAND_RECORD", "reap_command_leftovers", "reap_orphans", "record_local_ray", "records_dir"]

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


def _boot_time() -> float | None:
    try:
        for line in (_PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _started_at(start_ticks: str) -> float | None:
    """A ``/proc`` start time (clock ticks since boot) as epoch seconds."""
    boot = _boot_time()
    return None if boot is None else boot + int(start_ticks) / os.sysconf("SC_CLK_TCK")


def _group(pgid: int) -> list[tuple[int, str]]:
    """``(pid, start ticks)`` of each live process in group ``pgid``."""
    members: list[tuple[int, str]] = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append((int(entry.name), fields[19]))
    return members


def _ours(start: str, *, recorded: object, written: float) -> bool:
    """Whether a process that started at ``start`` is the one recorded (or one of its group's), not a later
    process that reuses its pid: the same start time when one was recorded, else started before the record
    was written (a script and its guard start before the trial writes their record)."""
    if recorded is not None:
        return str(recorded) == start
    at = _started_at(start)
    return at is not None and at <= written + 1.0


def reap_command_leftovers(experiment: str | os.PathLike[str]) -> list[int]:
    """SIGKILL what the command trials of ``experiment`` (a local folder) left running: each trial folder's
    script group and its guard, per its ``.hpo-command.json``. Call it only when the sweep's driver is gone
    (before a resume): a running sweep's trials are live. Records are kept (the trial rewrites its own).

    Returns:
        The pids that were sent SIGKILL.
    """
    folder = Path(experiment)
    if not _PROC.is_dir() or not folder.is_dir():
        return []
    killed: list[int] = []
    for path in sorted(folder.glob(f"*/{COMMAND_RECORD}")):
        try:
            record = json.loads(path.read_text())
            written = path.stat().st_mtime
            pgid = int(record["pgid"])
            guard = int(record["guard_pid"]) if record.get("guard_pid") else None
        except (OSError, ValueError, KeyError, TypeError):
            logger.debug("ignoring unreadable command record %s", path)
            continue
        # The guard first, so it does not signal a group this sweep's next run might own by then.
        targets: list[int] = []
        if guard is not None:
            found = _stat(guard)
            if found is not None and _ours(found[1], recorded=record.get("guard_start"), written=written):
                targets.append(guard)
        members = _group(pgid)
        leader = next((start for pid, start in members if pid == pgid), None)
        # Linux gives no new process a pid still in use as a group id: with the leader gone, the members
        # are the recorded group's; a live leader must be the recorded script, not a reuse of its pid.
        if leader is None or _ours(leader, recorded=record.get("start"), written=written):
            targets.extend(pid for pid, _ in members)
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    if killed:
        logger.info("ended %d process(es) a killed hpo driver's command trials left running: %s", len(killed), killed)
    return killed
