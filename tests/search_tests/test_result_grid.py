"""Tune's result grid without the per-trial DataFrames a sweep never reads."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs
from hpo.search.engine.result_grid import grid_without_dataframes
from ray.tune.analysis.experiment_analysis import ExperimentAnalysis


def test_inside_the_block_no_trial_file_is_read_and_tune_reads_them_again_after(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"loss": 0.5, "training_iteration": 1}) + "\n")
    storage = SimpleNamespace(trial_fs_path=str(tmp_path), storage_filesystem=pyarrow.fs.LocalFileSystem())
    analysis = ExperimentAnalysis.__new__(ExperimentAnalysis)  # only the trials the read looks at
    analysis.trials = [SimpleNamespace(trial_id="t1", last_result={"loss": 0.5}, storage=storage)]
    with grid_without_dataframes():
        assert analysis._fetch_trial_dataframes() == {}
    frames = analysis._fetch_trial_dataframes()
    assert list(frames) == ["t1"] and list(frames["t1"]["loss"]) == [0.5]
    # Two fits of one process whose blocks overlap (the first ends first): Tune reads them after both.
    first, second = grid_without_dataframes(), grid_without_dataframes()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert list(analysis._fetch_trial_dataframes()) == ["t1"]
