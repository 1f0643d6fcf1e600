"""What follows a finished sweep: a confirmation of its top configs with fresh seeds (``confirm``),
the next sweep's spec narrowed to where its best trials lie (``refine``), and its best checkpoint
scored on the held-out test split (``evaluate``).

Names load on first use, so ``import hpo.search`` stays free of Ray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.derive.confirm import (
        ConfirmOutcome,
        confirm_spec,
        confirm_sweep,
        confirmed,
        submit_confirmation,
    )
    from hpo.search.derive.evaluate import evaluate_trial
    from hpo.search.derive.refine import Refinement, refine_spec

__all__ = [
    "ConfirmOutcome",
    "Refinement",
    "confirm_spec",
    "confirm_sweep",
    "confirmed",
    "evaluate_trial",
    "refine_spec",
    "submit_confirmation",
]

_HOMES = {"ConfirmOutcome": "confirm", "confirm_spec": "confirm", "confirm_sweep": "confirm", "confirmed": "confirm",
          "submit_confirmation": "confirm", "evaluate_trial": "evaluate", "Refinement": "refine",
          "refine_spec": "refine"}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'hpo.search.derive' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hpo.search.derive.{module}"), name)
