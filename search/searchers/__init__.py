"""Search algorithms from a spec: Optuna (with its plain-data state), HyperOpt TPE, random and grid, and the
reconciliation that makes a restored searcher agree with Tune's restored trials.

``build`` makes the spec's searcher and the Tuner's ``param_space``; ``optuna_search`` and
``optuna_state`` the Optuna searcher and what of it pickles; ``hyperopt_points`` HyperOpt with points in
its own form; ``restored_state`` the resume reconciliation. Importing this package imports neither Ray
nor a search library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.searchers.build import make_searcher, param_space, searcher_limit
    from hpo.search.searchers.hyperopt_points import PreparedPointsHyperOptSearch
    from hpo.search.searchers.optuna_search import SpecOptunaSearch, make_optuna_search
    from hpo.search.searchers.optuna_state import SamplerSettings, StudyRecord
    from hpo.search.searchers.restored_state import (
        ReconcilingSearchGenerator,
        ReconcilingVariantGenerator,
        RestoredTrials,
        restored_trials,
        search_algorithm,
    )

__all__ = [
    "PreparedPointsHyperOptSearch", "ReconcilingSearchGenerator", "ReconcilingVariantGenerator", "RestoredTrials",
    "SamplerSettings", "SpecOptunaSearch", "StudyRecord", "make_optuna_search", "make_searcher", "param_space",
    "restored_trials", "search_algorithm", "searcher_limit",
]

_HOME = {
    "make_searcher": "build", "param_space": "build", "searcher_limit": "build",
    "PreparedPointsHyperOptSearch": "hyperopt_points",
    "SpecOptunaSearch": "optuna_search", "make_optuna_search": "optuna_search",
    "SamplerSettings": "optuna_state", "StudyRecord": "optuna_state",
    "ReconcilingSearchGenerator": "restored_state", "ReconcilingVariantGenerator": "restored_state",
    "RestoredTrials": "restored_state", "restored_trials": "restored_state", "search_algorithm": "restored_state",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
