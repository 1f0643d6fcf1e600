"""The sweep engine on Ray Tune: run or resume a validated spec, and the ``hpo`` CLI.

Importing this package imports neither Ray nor the other packages' heavy parts: Ray
workers import it, and ``hpo --help`` should be instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.derive.confirm import ConfirmOutcome, confirm_sweep
    from hpo.search.derive.refine import Refinement, refine_spec
    from hpo.search.engine.sweep import SweepOutcome, extend_sweep, resume_sweep, run_sweep
    from hpo.search.errors import ResourceError, SweepExistsError, SweepInputError

__all__ = [
    "ConfirmOutcome",
    "Refinement",
    "ResourceError",
    "SweepExistsError",
    "SweepInputError",
    "SweepOutcome",
    "confirm_sweep",
    "dry_run_report",
    "extend_sweep",
    "refine_spec",
    "resume_sweep",
    "run_sweep",
]


_LAZY = {"ConfirmOutcome": "hpo.search.derive.confirm", "confirm_sweep": "hpo.search.derive.confirm",
         "Refinement": "hpo.search.derive.refine", "refine_spec": "hpo.search.derive.refine",
         "dry_run_report": "hpo.search.engine.preview",
         # the errors import hpo.results (SQLAlchemy): a trial's actor importing hpo.search.ray_compat skips them
         "ResourceError": "hpo.search.errors", "SweepExistsError": "hpo.search.errors",
         "SweepInputError": "hpo.search.errors"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in ("SweepOutcome", "extend_sweep", "resume_sweep", "run_sweep"):
        from hpo.search.engine import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module 'hpo.search' has no attribute {name!r}")
