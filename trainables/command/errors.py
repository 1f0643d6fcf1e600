"""How a command trial fails, one class per cause.

The first line of each message is its summary, the same for trials that fail alike (no config value
in it), so ``hpo.results.error_summary``, ``hpo errors`` and fail-fast group them; the script's last
lines follow, each behind ``| `` so that a line of its own output (``ValueError: boom``) is never taken
for the summary.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CommandError", "CommandFailedError", "CommandMetricError", "CommandOutOfMemoryError", "quoted_tail"]


class CommandError(RuntimeError):
    """A command trial's script did not give what the sweep needs."""


class CommandFailedError(CommandError):
    """The script exited with a non-zero code, or was killed by a signal nobody sent it."""


class CommandOutOfMemoryError(CommandFailedError):
    """The script failed after printing that CUDA ran out of memory (a smaller config may fit)."""


class CommandMetricError(CommandError):
    """The script exited 0 without ever reporting the sweep's metric."""


def quoted_tail(title: str, lines: Iterable[str]) -> str:
    """``title`` then each line behind ``  | `` (``  | (none)`` when there are none)."""
    body = [f"  | {line}".rstrip() for line in lines] or ["  | (none)"]
    return "\n".join([title, *body])
