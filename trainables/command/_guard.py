"""The watch that ends a command trial's process group when the trial's own process dies without doing it.

A stopped trial ends its script itself (SIGTERM, the grace, SIGKILL; :func:`.process.end_group`). But
Ray may end the trial's actor with ``ray.kill`` (a stop Tune gave up waiting for, ``failures.trial_timeout``,
the driver's end), or the actor may crash: its script would then run on, holding its GPU. So each
trial starts this guard: ``python -m hpo.trainables.command._guard ACTOR_PID ACTOR_START PGID GRACE``.

It detaches (a fork after a new session: neither a kill of the script's group nor Ray's kill of a dying
worker's children reaches it), prints its pid, and checks twice a second that the actor lives (its pid,
with the same start time). Once the actor is gone it ends the group as the actor would have; it exits
as soon as the group is empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from hpo.trainables.command.process import end_group, group_alive, process_start_time

__all__ = ["main", "start_guard"]

_CHECK_S = 0.5


def start_guard(*, pgid: int, grace: float) -> int:
    """Start the guard of group ``pgid`` for this process; return the guard's pid (once it has detached)."""
    me = os.getpid()
    start = process_start_time(me) or 0
    out = subprocess.run([sys.executable, "-m", "hpo.trainables.command._guard", str(me), str(start), str(pgid),
                          repr(float(grace))], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True, check=True, timeout=60)
    return int(out.stdout.decode().split()[0])


def _alive(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = process_start_time(pid)
    return now is None or start == 0 or now == start


def watch(actor: int, start: int, pgid: int, grace: float) -> None:
    """Until group ``pgid`` is empty: when ``actor`` (started at ``start``) is gone, end the group."""
    while group_alive(pgid):
        if not _alive(actor, start):
            end_group(pgid, grace)
            return
        time.sleep(_CHECK_S)


def main(argv: list[str]) -> int:
    actor, start, pgid, grace = int(argv[0]), int(argv[1]), int(argv[2]), float(argv[3])
    pid = os.fork()
    if pid:  # the first process: it led the new session; it says who watches, and leaves
        print(pid, flush=True)
        return 0
    # The watcher: no terminal, no inherited output to hold open.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        watch(actor, start, pgid, grace)
    finally:
        os._exit(0)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
