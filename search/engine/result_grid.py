"""Tune's result grid without each trial's results read back from its files.

As ``Tuner.fit`` returns, Tune's ``ExperimentAnalysis`` reads every trial's ``result.json`` (or
``progress.csv``) into a pandas DataFrame for ``Result.metrics_dataframe``. A sweep never uses them:
its results are in the store already, and the grid only tells it how many trials errored and why.
At 1,000 trivial trials the read cost the driver about 1 s of CPU and 13 MB of peak RSS
(``bench/scale.py``); a run with Tune's per-trial files off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``)
has nothing to read and never paid it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from hpo.search.ray_compat.result_grid import without_trial_dataframes

__all__ = ["grid_without_dataframes"]


def grid_without_dataframes() -> AbstractContextManager[None]:
    """Inside the block, a result grid Tune builds holds no per-trial DataFrames (``metrics_dataframe``
    is None); every other part of it (trials, errors, last results) is as Tune makes it.

    Outside it Tune reads them again, overlapping blocks included (``hpo.search.ray_compat.result_grid``).
    """
    return without_trial_dataframes()
