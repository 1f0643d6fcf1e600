"""What many tests do, written once: run ``hpo`` in a process of its own, wait for a condition (failing,
with what was awaited, at the deadline), launch headless Chromium.

A plain module on ``sys.path`` as ``harness`` (pytest puts ``tests/`` there for the root conftest, as for
``store_rows``), not ``tests/conftest.py`` itself: every ``conftest.py`` is imported under the one name
``conftest``, so ``from conftest import ...`` would find whichever was imported last. The fixtures built
on these (``chromium``, the mark checks) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

__all__ = ["CHROMIUM", "ROOT", "ChromiumLauncher", "hpo_argv", "pid_gone", "run_hpo", "start_hpo", "wait_for"]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

T = TypeVar("T")


# -- processes -------------------------------------------------------------------------------------
def pid_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended: no ``/proc/<pid>`` (Linux), or only its zombie, which a parent
    that is not ours (pid 1 here reaps no orphans) may leave behind."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


# -- hpo in a process of its own -------------------------------------------------------------------

def hpo_argv(*args: str, prelude: str = "") -> list[str]:
    """``hpo ARGS`` as this interpreter runs it (the venv's, whatever ``PATH`` holds); ``prelude``: Python
    run first in that process (e.g. an ``atexit`` hook that reports what the driver imported)."""
    return [sys.executable, "-c", f"{prelude}from hpo.search.cli import main; main()", *args]


def run_hpo(*args: str, cwd: str | os.PathLike[str] = ROOT, env: Mapping[str, str] | None = None,
            timeout: float = 300, prelude: str = "",
            preexec_fn: Callable[[], Any] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``hpo ARGS`` to its end; its exit code, stdout and stderr as text (never raises on a non-zero exit).

    Args:
        cwd: Its working folder (the repository root unless given).
        env: Its whole environment (this process's unless given).
        timeout: Seconds before it is killed and the test fails (``subprocess.TimeoutExpired``).
        prelude: Python run before the CLI in that process.
        preexec_fn: Run in the child before ``hpo`` (e.g. dropping to an unprivileged user).
    """
    return subprocess.run(hpo_argv(*args, prelude=prelude), cwd=cwd, env=None if env is None else dict(env),
                          capture_output=True, text=True, timeout=timeout, check=False, preexec_fn=preexec_fn)


def start_hpo(*args: str, cwd: str | os.PathLike[str] = ROOT, env: Mapping[str, str] | None = None,
              prelude: str = "", stdout: Any = subprocess.PIPE,
              stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start ``hpo ARGS`` and return at once (a sweep to stop or kill mid-run); text pipes unless given.

    The caller ends it: ``communicate``, or ``kill`` + ``wait`` in a ``finally``.
    """
    return subprocess.Popen(hpo_argv(*args, prelude=prelude), cwd=cwd, env=None if env is None else dict(env),
                            stdout=stdout, stderr=stderr, text=True)


# -- waiting ------------------------------------------------------------------------------------------

def wait_for(predicate: Callable[[], T], *, timeout: float, what: str | Callable[[], str],
             every: float = 0.2, proc: subprocess.Popen[Any] | None = None,
             ignore: tuple[type[Exception], ...] = ()) -> T:
    """Call ``predicate`` every ``every`` s until it returns something truthy, and return that.

    At ``timeout`` s the test FAILS, naming ``what`` it waited for (a string, or a function giving
    one then, e.g. with the last state seen). A test never carries on past a deadline as if the
    condition had held.

    Args:
        proc: A process the condition depends on: if it exits first, fail at once with its exit code;
            if the deadline passes, it is killed (by its pid) before the test fails. Either way the
            end of what it wrote to a pipe (``stdout=PIPE``) is in the message.
        ignore: Exceptions that mean "not yet" (a server not listening yet); the last one is named
            if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except ignore as exc:
            last_error = exc
        else:
            if value:
                return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"while waiting for {_describe(what)}, the process it needed ({_name(proc)}) exited with "
                        f"{proc.returncode}{_output(proc)}")
        if time.monotonic() > deadline:
            error = f" (last error: {type(last_error).__name__}: {last_error})" if last_error is not None else ""
            said = ""
            if proc is not None:
                proc.kill()
                proc.wait(timeout=30)
                said = _output(proc)
            pytest.fail(f"waited {timeout:g} s for {_describe(what)}{error}{said}")
        time.sleep(every)


def _describe(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def _output(proc: subprocess.Popen[Any]) -> str:
    """The end of what an exited process wrote to its stdout pipe, if it had one."""
    if proc.stdout is None:
        return ""
    data = proc.stdout.read()
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    return f"; it wrote:\n{text[-3000:]}" if text.strip() else ""


def _name(proc: subprocess.Popen[Any]) -> str:
    argv = proc.args if isinstance(proc.args, Sequence) and not isinstance(proc.args, str) else [proc.args]
    return f"pid {proc.pid}, {Path(str(argv[0])).name}"


# -- headless Chromium ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChromiumLauncher:
    """Debian's headless Chromium, offline, with a fresh profile per launch. Tests get it from the
    ``chromium`` fixture (which checks the test's ``browser`` mark and skips where Chromium is absent)."""

    path: Path
    flags: tuple[str, ...] = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--disable-component-update", "--no-first-run", "--disable-extensions",
                              "--mute-audio")

    def argv(self, *args: str, profile: Path) -> list[str]:
        """The command line of one browser with its own profile folder, ``args`` last."""
        return [str(self.path), *self.flags, f"--user-data-dir={profile}", *args]

    def run(self, *args: str, profile: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """One browser run to its end (``--dump-dom URL``, ``--screenshot=PNG URL``); fails the test on a
        non-zero exit with the end of its stderr."""
        done = subprocess.run(self.argv(*args, profile=profile), capture_output=True, text=True, timeout=timeout,
                              check=False)
        assert done.returncode == 0, f"chromium {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
        return done
