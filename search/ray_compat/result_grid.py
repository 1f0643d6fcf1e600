"""Tune's result grid without the per-trial DataFrames it reads back from each trial's files.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from hpo.search.engine.environ import swapped

__all__ = ["without_trial_dataframes"]


def _none_read(self: Any) -> dict[str, Any]:
    return {}


def without_trial_dataframes() -> AbstractContextManager[None]:
    """Inside the block, a result grid Tune builds holds no per-trial DataFrames (``metrics_dataframe``
    is None); every other part of it (trials, errors, last results) is as Tune makes it.

    Touches ``ExperimentAnalysis._fetch_trial_dataframes``, the read of every trial's ``result.json``
    (or ``progress.csv``) as ``Tuner.fit`` returns, swapped for one that reads nothing: a sweep's results
    are in its store already (see ``hpo.search.engine.result_grid``). Outside the block Tune reads them
    again (``hpo.search.engine.environ.swapped``, overlapping blocks included). Checked on Ray 2.60.0.
    """
    from ray.tune.analysis.experiment_analysis import ExperimentAnalysis

    return swapped(ExperimentAnalysis, "_fetch_trial_dataframes", _none_read)
