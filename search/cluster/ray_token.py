"""Ray's authentication token for local instances, created once and atomically.

A local ``ray.init`` (and ``ray start``) turns token authentication on and, when no token exists
yet, writes a fresh one to ``~/.ray/auth_token`` with a plain open-and-write. On a machine that has
none (a new CI machine, a new user), two Ray instances starting at once (two sweeps, a sweep beside
``ray start``) can each write their own: the second overwrites the first, while the first
instance's GCS keeps the old token for the workers it starts afterwards. A reader can also catch
the file empty between open and write. (Eight simultaneous starts here did not show it; the window
is narrow.) Making the token before Ray starts, in one atomic step, leaves nothing to race over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

__all__ = ["ensure_local_token"]

logger = logging.getLogger(__name__)


def ensure_local_token() -> Path | None:
    """Make ``~/.ray/auth_token`` if Ray would make it, atomically; the path, or None if Ray won't.

    Nothing is written when token authentication is off (``RAY_AUTH_MODE`` other than ``token``),
    when the token comes from elsewhere (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``), or when the
    file already exists. A home that cannot be written is left to Ray, as before.
    """
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.strip().lower() != "token":
        return None
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return None
    path = Path.home() / ".ray" / "auth_token"
    try:
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".auth_token.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))  # Ray's own format: 256 bits as hex
            with contextlib.suppress(FileExistsError):  # a token another process made first stands
                os.link(staged, path)  # only if absent, in one step
        finally:
            staged.unlink(missing_ok=True)
    except OSError as exc:
        logger.debug("could not create %s (%s); Ray will make its own", path, exc)
        return None
    return path
