"""Tune's saved experiment state and its generators' counts (hpo.search.ray_compat.tune_state), against
Ray's own classes: trials as ``Trial.get_json_state`` saves them, counts as the generators save them.
No Ray instance is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.search import BasicVariantGenerator, Searcher, SearchGenerator

from hpo.search.ray_compat.tune_state import (
    SavedTrial,
    experiment_state_files,
    live_variants,
    read_saved_trials,
    reset_suggested,
    saved_suggestion_count,
    set_live_variants,
    suggested_count,
)


def _noop(config: dict[str, Any]) -> None:
    pass


def _variants(tmp_path: Path, n: int) -> tuple[BasicVariantGenerator, list[Trial]]:
    tune.register_trainable("compat_noop", _noop)
    gen = BasicVariantGenerator(max_concurrent=n, random_state=0)
    gen.add_configurations({"exp": {"run": "compat_noop", "config": {"x": tune.uniform(0, 1)}, "num_samples": n,
                                    "storage_path": str(tmp_path / "ray")}})
    return gen, [gen.next_trial() for _ in range(n)]


class _Fixed(Searcher):
    def suggest(self, trial_id: str) -> dict[str, Any]:
        return {"x": 1}


def test_the_trials_of_the_newest_experiment_state_as_tune_saves_them(tmp_path: Path) -> None:
    _, (done, running, failed) = _variants(tmp_path, 3)
    done.update_last_result({"loss": 0.5, "training_iteration": 3})
    done.set_status(Trial.TERMINATED)
    running.set_status(Trial.RUNNING)
    failed.set_status(Trial.ERROR)
    # TuneController.save_to_dir writes "trial_data": Trial.get_json_state() of every trial.
    for stamp, trials in (("2026-01-01_00-00-00", [done]), ("2026-01-01_00-00-09", [done, running, failed])):
        (tmp_path / f"experiment_state-{stamp}.json").write_text(
            json.dumps({"trial_data": [t.get_json_state() for t in trials]}))
    (tmp_path / "experiment_state.json.tmp").write_text("{")
    files = experiment_state_files(tmp_path)
    assert [f.name for f in files] == ["experiment_state-2026-01-01_00-00-00.json",
                                       "experiment_state-2026-01-01_00-00-09.json"]
    saved = read_saved_trials(files[-1])
    assert [(t.trial_id, t.status) for t in saved] == [
        (done.trial_id, "TERMINATED"), (running.trial_id, "RUNNING"), (failed.trial_id, "ERROR")]
    assert {k: saved[0].last_result[k] for k in ("loss", "training_iteration")} == {"loss": 0.5,
                                                                                  "training_iteration": 3}
    assert saved[1] == SavedTrial(running.trial_id, "RUNNING", {})


def test_a_file_caught_mid_write_raises_what_the_resume_catches(tmp_path: Path) -> None:
    path = tmp_path / "experiment_state-x.json"
    path.write_text('{"trial_data": [["{\\"trial_id\\": ')
    with pytest.raises(ValueError):
        read_saved_trials(path)
    path.write_text("{}")
    with pytest.raises(KeyError):
        read_saved_trials(path)


def test_a_search_generators_count_is_read_set_and_saved(tmp_path: Path) -> None:
    gen = SearchGenerator(_Fixed(metric="loss", mode="min"))
    assert suggested_count(gen) == 0
    gen.set_finished()
    reset_suggested(gen, 4)
    assert suggested_count(gen) == 4 and gen.get_state()["counter"] == 4 and gen.get_state()["finished"] is False
    assert saved_suggestion_count(tmp_path) is None
    gen.save_to_dir(str(tmp_path), session_str="s")
    assert saved_suggestion_count(tmp_path) == 4


def test_a_variant_generators_live_trials_and_saved_count(tmp_path: Path) -> None:
    gen, trials = _variants(tmp_path, 3)
    ids = [t.trial_id for t in trials]
    assert live_variants(gen) == frozenset(ids)
    set_live_variants(gen, {ids[0]})
    assert live_variants(gen) == {ids[0]}
    gen.on_trial_complete(ids[0])
    assert live_variants(gen) == frozenset()
    gen.save_to_dir(str(tmp_path), session_str="s")
    assert saved_suggestion_count(tmp_path) == 3
