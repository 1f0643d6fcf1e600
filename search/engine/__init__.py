"""The sweep engine: a checked spec and its plan -> Ray started or joined -> the Tuner fitted -> the sweep finished.

``sweep`` runs, resumes and extends; ``planning`` builds the plan (the same for validate, the dry
run and the run); ``checks`` holds a spec against its trainable's contract before Ray starts;
``store`` keeps the name rules; ``tuner`` builds and fits the Tuner; the driver-side callbacks,
progress view, stall watch, warm start, driver record and trainable glue sit beside them.

Names load on first use: Ray workers import modules of this package (the callbacks, the
trainable glue), and that must not import the whole engine with Ray Tune's driver side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.engine.checks import check_spec
    from hpo.search.engine.planning import plan_sweep
    from hpo.search.engine.sweep import SweepOutcome, extend_sweep, resume_sweep, run_sweep

__all__ = ["SweepOutcome", "check_spec", "extend_sweep", "plan_sweep", "resume_sweep", "run_sweep"]

_HOMES = {"SweepOutcome": "sweep", "extend_sweep": "sweep", "resume_sweep": "sweep", "run_sweep": "sweep",
          "check_spec": "checks", "plan_sweep": "planning"}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'hpo.search.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hpo.search.engine.{module}"), name)
