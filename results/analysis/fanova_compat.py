"""The one place results touches Optuna's private names: importing ``optuna.importance`` without
scikit-learn, and putting scikit-learn back into fANOVA's modules when fANOVA is asked for.

What it touches: two private modules of Optuna, ``optuna.importance._fanova._fanova`` and
``optuna.importance._mean_decrease_impurity``, which import scikit-learn at their import (through
``try_import``) and so are imported again once it may be imported. Only their names are used; nothing
inside them is called (the evaluators are reached through ``optuna.importance``'s public API).

Why hpo needs it: ``optuna.importance`` imports every evaluator, and those two import scikit-learn: over
a second of CPU, most of what a 10,000-trial report or the dashboard's first page may take, though the
default evaluator (PED-ANOVA) needs none of it. Without this module, PED-ANOVA would pay for fANOVA.

Checked on: optuna 5.1.0 (the lock; ``pip show optuna``). If a release moves or renames those modules,
``fanova_evaluator`` finds nothing to reload and Optuna's fANOVA evaluator raises its ImportError for
scikit-learn though it is installed: tests/results_tests/test_importance.py fails on that (PED-ANOVA then
fANOVA in one process), which is the signal to update the two names above.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["NEED_SKLEARN", "fanova_evaluator", "optuna_importance"]

# Optuna's modules that import scikit-learn when they are imported.
NEED_SKLEARN = ("optuna.importance._fanova._fanova", "optuna.importance._mean_decrease_impurity")
_hidden: list[str] = []  # those modules, while they were imported without scikit-learn


def optuna_importance() -> Any:
    """``optuna.importance``, imported without scikit-learn when nothing has imported either yet."""
    if "optuna.importance" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` raises ImportError meanwhile
        try:
            import optuna.importance
        finally:
            del sys.modules["sklearn"]
        _hidden[:] = NEED_SKLEARN
    import optuna.importance

    return optuna.importance


def fanova_evaluator(*, seed: int = 0) -> Any:
    """Optuna's fANOVA evaluator, scikit-learn imported into the modules that were imported without it."""
    importance = optuna_importance()
    if _hidden:
        for module in _hidden:
            if module in sys.modules:
                importlib.reload(sys.modules[module])
        _hidden.clear()
    return importance.FanovaImportanceEvaluator(seed=seed)
