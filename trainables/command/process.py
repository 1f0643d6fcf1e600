"""A command trial's process group: started in a session of its own, ended by signal as a whole.

The script runs as the leader of a new session (``start_new_session``), so its process group id is
its pid and everything it starts (data-loader workers, a shell's children) is in that group unless it
leaves on purpose. :func:`end_group` gives the group SIGTERM, waits up to the grace for every member
to exit, then SIGKILLs what is left: a script that ignores SIGTERM, or a grandchild that outlives it,
is not left running.

A process whose parent died is adopted by the nearest "subreaper" (else by pid 1, which in a container
may never reap it, leaving a zombie in ``/proc``): :func:`become_subreaper` makes the trial's own
process adopt the script's orphans, and :func:`end_group` reaps those of the group. POSIX only;
subreapers are Linux's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["become_subreaper", "end_group", "group_alive", "group_members", "launch", "process_start_time"]

_POLL_S = 0.05
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def launch(argv: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new session (pgid = pid), stdout and stderr piped, no stdin.

    Raises:
        OSError: the program cannot be started (not found, not executable).
    """
    return subprocess.Popen(list(argv), cwd=os.fspath(cwd), env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def become_subreaper(on: bool = True) -> bool:
    """Make this process adopt its descendants' orphans (Linux ``PR_SET_CHILD_SUBREAPER``), so that
    :func:`end_group` can reap a script's grandchildren; False where the system has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (field 3, the state, first), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None when gone:
    with the pid, it tells a process from a later one that reuses its pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def group_members(pgid: int) -> list[tuple[int, int, str]]:
    """``(pid, ppid, state)`` of each process in group ``pgid``, zombies included (Linux ``/proc``)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and len(fields) > 2 and int(fields[2]) == pgid:
            found.append((int(entry.name), int(fields[1]), fields[0]))
    return found


def _reap(pgid: int, proc: subprocess.Popen[bytes] | None) -> None:
    """Collect the exit of the leader (ours) and of the group's zombies this process adopted."""
    if proc is not None:
        proc.poll()
    me = os.getpid()
    for pid, ppid, state in group_members(pgid) if os.path.isdir("/proc") else ():
        if state == "Z" and ppid == me and (proc is None or pid != proc.pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (a zombie, already dead, does not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc"):
        return True
    return any(state != "Z" for _, _, state in group_members(pgid))


def _signal(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def end_group(pgid: int, grace: float, *, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM to group ``pgid``; SIGKILL to what is left after ``grace`` seconds; reap what this process may.

    Args:
        pgid: The group (the script's pid: it leads a session of its own).
        grace: Seconds the group has to exit after SIGTERM (``trainable.stop_grace``).
        proc: The script's ``Popen`` when this process started it (its exit is collected).

    Returns:
        True when SIGKILL was needed (something outlived the grace).
    """
    _reap(pgid, proc)
    if not group_alive(pgid):
        _reap(pgid, proc)  # a member that died since the first pass
        return False
    _signal(pgid, signal.SIGTERM)
    deadline = time.monotonic() + max(0.0, grace)
    while time.monotonic() < deadline:
        _reap(pgid, proc)
        if not group_alive(pgid):
            _reap(pgid, proc)
            return False
        time.sleep(_POLL_S)
    _signal(pgid, signal.SIGKILL)
    for _ in range(100):  # SIGKILL cannot be ignored: the group is gone within a few polls
        _reap(pgid, proc)
        if not group_alive(pgid):
            break
        time.sleep(_POLL_S)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
    _reap(pgid, proc)
    return True
