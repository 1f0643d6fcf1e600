"""The sweep engine on Ray Tune: run or resume a validated spec, and the ``hpo`` CLI.

Importing this package imports neither Ray nor the other packages' heavy parts: Ray
workers import it, and ``hpo --help`` should be instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.errors import ResourceError, SweepExistsError, SweepInputError

if TYPE_CHECKING:
    from search.sweep import SweepOutcome, extend_sweep, resume_sweep, run_sweep

__all__ = [
    "ResourceError",
    "SweepExistsError",
    "SweepInputError",
    "SweepOutcome",
    "extend_sweep",
    "resume_sweep",
    "run_sweep",
]


def __getattr__(name: str) -> Any:
    if name in ("SweepOutcome", "extend_sweep", "resume_sweep", "run_sweep"):
        from search import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module 'search' has no attribute {name!r}")
