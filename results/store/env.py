"""Where the store lives and what ran a sweep: run home, default URL, versions, git commit."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from hpo.results.errors import StoreError

__all__ = ["default_url", "ensure_home", "git_commit", "resolve_home", "versions"]

logger = logging.getLogger(__name__)

# Distribution names whose versions a sweep records; importlib.metadata reads them without
# importing the packages (torch takes seconds to import).
_DISTRIBUTIONS = {"hpo": "hpo-service", "ray": "ray", "torch": "torch"}


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The run home: ``home`` argument, else ``$HPO_HOME``, else ``./runs``."""
    if home is not None and str(home) != "":
        return Path(home)
    env = os.environ.get("HPO_HOME")
    return Path(env) if env else Path("runs")


def ensure_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The run home (by :func:`resolve_home`), created if missing and checked writable.

    For commands that write (a sweep, a resume). Read-only commands never call it.

    Raises:
        StoreError: the home cannot be created or written (one line, with the OS's reason).
    """
    path = resolve_home(home).expanduser().absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"run home {path}: cannot create it ({exc.strerror or exc})") from exc
    try:
        # A real write: os.access() says yes to root on a read-only mount.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise StoreError(f"run home {path}: cannot write to it ({exc.strerror or exc})") from exc
    return path


def default_url(home: str | os.PathLike[str] | None = None) -> str:
    """``$HPO_STORE`` when set, else ``sqlite:///<home>/store.sqlite``."""
    env = os.environ.get("HPO_STORE")
    if env:
        return env
    return f"sqlite:///{(resolve_home(home) / 'store.sqlite').absolute()}"


def versions() -> dict[str, str | None]:
    """Installed versions of hpo, ray, torch (None when absent) and the running Python."""
    found: dict[str, str | None] = {}
    for key, dist in _DISTRIBUTIONS.items():
        try:
            found[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[key] = None
    found["python"] = platform.python_version()
    return found


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """Commit of the git checkout at ``cwd`` (default the working directory), or None."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        logger.debug("no git commit for %s: %s", cwd or os.getcwd(), done.stderr.strip())
        return None
    return commit
