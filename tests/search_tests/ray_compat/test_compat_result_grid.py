"""Tune's result grid without the per-trial DataFrames (hpo.search.ray_compat.result_grid): the read it skips
is ``ExperimentAnalysis._fetch_trial_dataframes``, and Tune reads them again once the block ends."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs
from ray.tune.analysis.experiment_analysis import ExperimentAnalysis

from hpo.search.ray_compat.result_grid import without_trial_dataframes


def test_inside_the_block_no_trial_file_is_read_and_tune_reads_them_again_after(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"loss": 0.5, "training_iteration": 1}) + "\n")
    storage = SimpleNamespace(trial_fs_path=str(tmp_path), storage_filesystem=pyarrow.fs.LocalFileSystem())
    analysis = ExperimentAnalysis.__new__(ExperimentAnalysis)  # only the trials the read looks at
    analysis.trials = [SimpleNamespace(trial_id="t1", last_result={"loss": 0.5}, storage=storage)]
    with without_trial_dataframes():
        assert analysis._fetch_trial_dataframes() == {}
    frames = analysis._fetch_trial_dataframes()
    assert list(frames) == ["t1"] and list(frames["t1"]["loss"]) == [0.5]
    # Two fits of one process whose blocks overlap (the first ends first): Tune reads them after both.
    first, second = without_trial_dataframes(), without_trial_dataframes()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert list(analysis._fetch_trial_dataframes()) == ["t1"]
