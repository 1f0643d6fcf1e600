"""Tune's result grid without each trial's results read back from its files.

As ``Tuner.fit`` returns, Tune's ``ExperimentAnalysis`` reads every trial's ``result.json`` (or
``progress.csv``) into a pandas DataFrame for ``Result.metrics_dataframe``. A sweep never uses them:
its results are in the store already, and the grid only tells it how many trials errored and why.
At 1,000 trivial trials the read cost the driver about 1 s of CPU and 13 MB of peak RSS
(``bench/scale.py``); a run with Tune's per-trial files off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``)
has nothing to read and never paid it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["grid_without_dataframes"]


def _none_read(self: Any) -> dict[str, Any]:
    return {}


@contextmanager
def grid_without_dataframes() -> Iterator[None]:
    """Inside the block, a result grid Tune builds holds no per-trial DataFrames (``metrics_dataframe``
    is None); every other part of it (trials, errors, last results) is as Tune makes it.

    Outside it Tune reads them again. Where this Ray has no such method, nothing changes; inside a block
    already open (another fit of this process), the block that opened first puts Tune's method back.
    """
    from ray.tune.analysis.experiment_analysis import ExperimentAnalysis

    original = ExperimentAnalysis.__dict__.get("_fetch_trial_dataframes")
    if original is None or original is _none_read:
        yield
        return
    ExperimentAnalysis._fetch_trial_dataframes = _none_read  # type: ignore[method-assign]
    try:
        yield
    finally:
        ExperimentAnalysis._fetch_trial_dataframes = original  # type: ignore[method-assign]
