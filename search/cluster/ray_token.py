"""Ray's authentication token: made once and atomically for local instances, found and presented to a
cluster that wants it.

**A cluster that wants the token.** ``ray start --head`` turns token authentication on whenever a token
exists (``~/.ray/auth_token``: any earlier local Ray made one), but ``ray.init`` with an explicit address
sends the token only when ``RAY_AUTH_MODE=token`` is set, and a driver without it fails with Ray's C++
warnings (``Failed to get cluster ID from GCS server: Unauthenticated``) and an error that blames the
address. :func:`present_token` asks the cluster first (the GCS, or the job server's HTTP API): when it
turns a call without a token away and a token is at hand (``RAY_AUTH_TOKEN``, the file
``RAY_AUTH_TOKEN_PATH`` names, ``~/.ray/auth_token``: Ray's own order), hpo turns token mode on for this
process; with none, or one the cluster refuses, one line says so and what to set, before Ray starts.

**A local instance's token.** A local ``ray.init`` (and ``ray start``) turns token authentication on and,
when no token exists yet, writes a fresh one to ``~/.ray/auth_token`` with a plain open-and-write. On a machine that has
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
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hpo.results import mask_url
from hpo.search.errors import SweepInputError

__all__ = ["Token", "ensure_local_token", "present_token", "present_token_http", "token_at_hand", "token_problem"]

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


_TOKEN_ENV, _PATH_ENV, _MODE_ENV = "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"
_HTTP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Token:
    """Ray's token as this process would send it, and where it came from.

    Attributes:
        value: The token; empty when ``RAY_AUTH_TOKEN_PATH`` names a missing or empty file.
        source: Where it came from, in words: ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH (PATH)``, the file's path.
        path: The file it was read from; None for ``RAY_AUTH_TOKEN``.
    """

    value: str
    source: str
    path: Path | None = None


def token_at_hand() -> Token | None:
    """The token Ray would send, in Ray's own order: ``RAY_AUTH_TOKEN``, the file ``RAY_AUTH_TOKEN_PATH``
    names, ``~/.ray/auth_token``; None when there is none."""
    value = os.environ.get(_TOKEN_ENV, "").strip()
    if value:
        return Token(value, _TOKEN_ENV)
    named = os.environ.get(_PATH_ENV, "").strip()
    path = Path(named).expanduser() if named else Path.home() / ".ray" / "auth_token"
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if named:
        return Token(text, f"{_PATH_ENV} ({path})", path)
    return Token(text, str(path), path) if text else None


_PRINTS = "`ray get-auth-token` on its head prints it"


def token_problem(*, where: str, answer: str, token: Token | None) -> str | None:
    """What stops this process from joining a cluster, from the cluster's answers; None when nothing does.

    Args:
        where: The field and cluster, as the line starts (``cluster.address: the Ray cluster at '...'``).
        answer: How the cluster answered a call bearing ``token`` (a call without one when ``token`` is
            None): ``ok``, ``refused`` or ``unknown``.
        token: The token that call bore.
    """
    if answer != "refused":
        return None
    if token is None:
        return (f"{where} wants Ray's authentication token and none is set here; set {_TOKEN_ENV} to the "
                f"cluster's token ({_PRINTS}), or write it to {Path.home() / '.ray' / 'auth_token'}")
    if token.path is None:
        fix = f"set {_TOKEN_ENV} to the cluster's token ({_PRINTS})"
    else:
        fix = f"write the cluster's token to {token.path} ({_PRINTS}), or set {_TOKEN_ENV} to it"
    if not token.value:
        return f"{where} wants Ray's authentication token and {token.source} is missing or empty; {fix}"
    return f"{where} refused the token from {token.source}; {fix}"


def _mode_problem(where: str) -> str | None:
    mode = os.environ.get(_MODE_ENV)
    if mode is None or mode.strip().lower() == "token":
        return None
    return (f"{where} wants Ray's authentication token but {_MODE_ENV}={mode} here; unset {_MODE_ENV} "
            "(hpo then sends the token it finds) or set it to token")


def present_token(address: str, *, field: str) -> None:
    """Before joining the Ray cluster whose GCS is at ``address``: when it wants Ray's token, turn token mode
    on with the token at hand, or say in one line why not.

    A cluster that answers without a token, a Ray Client address (``ray://``) and a GCS that answers
    neither way are left to ``ray.init`` as before.

    Raises:
        SweepInputError: the cluster wants the token and none is at hand, ``RAY_AUTH_MODE`` turns it off,
            or the cluster refuses the one at hand (one line naming ``field``, the cluster and what to set).
    """
    from hpo.search.ray_compat.cluster import gcs_token_answer

    if "://" not in address:
        _present(f"{field}: the Ray cluster at {mask_url(address)!r}", lambda token: gcs_token_answer(address, token))


def present_token_http(address: str, *, field: str) -> None:
    """:func:`present_token` for a cluster's job server (``http://HEAD:8265``): Ray's job client sends the token
    only in token mode.

    Raises:
        SweepInputError: as :func:`present_token`.
    """
    _present(f"{field}: the Ray job server at {mask_url(address)}", lambda token: _http_answer(address, token))


def _present(where: str, ask: Callable[[str | None], str]) -> None:
    """Ask without a token; when refused, ask again with the one at hand and turn token mode on, or raise."""
    from hpo.search.ray_compat.cluster import enable_token_mode

    if ask(None) != "refused":
        return
    problem = _mode_problem(where)
    token = token_at_hand()
    if problem is None:
        answer = ask(token.value) if token and token.value else "refused"
        problem = token_problem(where=where, answer=answer, token=token)
    if problem is not None:
        raise SweepInputError(problem)
    logger.debug("%s wants Ray's token: sending the one from %s", where, token.source if token else "?")
    enable_token_mode()


def _http_answer(address: str, token: str | None) -> str:
    """How the job server answers ``GET /api/version`` (what Ray's job client asks first) with ``token`` (or
    none): ``ok``, ``refused`` (401: no token; 403: the wrong one) or ``unknown``."""
    request = urllib.request.Request(f"{address.rstrip('/')}/api/version",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S):
            return "ok"
    except urllib.error.HTTPError as exc:
        return "refused" if exc.code in (401, 403) else "unknown"
    except (OSError, ValueError):
        return "unknown"
