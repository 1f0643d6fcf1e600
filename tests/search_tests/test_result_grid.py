"""Tune's result grid without the per-trial DataFrames a sweep never reads: everything else is Tune's.

How the read is skipped is the compat layer's (``ray_compat/test_compat_result_grid.py``); here, what a
fit inside the block still gives: each trial's metrics, config and error, on the session's Ray.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo.search.engine.result_grid import grid_without_dataframes


@pytest.mark.integration
def test_a_fit_in_the_block_keeps_metrics_configs_and_errors_but_no_dataframes(
    ray_session: None, tmp_path: Path
) -> None:
    from ray import tune

    def trainable(config: dict[str, Any]) -> None:  # nested: Ray's workers get it by value
        for step in range(1, 3):
            if config["fail"] and step == 2:
                raise RuntimeError("boom at step 2")
            tune.report({"loss": config["x"] / step})

    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.grid_search([1.0, 2.0]), "fail": tune.grid_search([False, True])},
        tune_config=tune.TuneConfig(metric="loss", mode="min", max_concurrent_trials=2),
        run_config=tune.RunConfig(name="grid", storage_path=str(tmp_path), verbose=0),
    )
    with grid_without_dataframes():
        grid = tuner.fit()
    assert len(grid) == 4 and grid.num_errors == 2
    assert sorted(str(e).splitlines()[-1] for e in grid.errors) == ["RuntimeError: boom at step 2"] * 2
    finished = sorted((r.config["x"], r.metrics["loss"], r.metrics["training_iteration"]) for r in grid if not r.error)
    assert finished == [(1.0, 0.5, 2), (2.0, 1.0, 2)]
    assert [r.metrics_dataframe for r in grid] == [None] * 4
    assert grid.get_best_result().config == {"x": 1.0, "fail": False}
