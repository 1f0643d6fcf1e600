"""A trial's checkpoints in Ray's state, pruned (hpo.search.ray_compat.checkpoints), on Ray's own Trial and
checkpoint manager. No Ray instance is needed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ray import tune
from ray.train._internal.session import _TrainingResult
from ray.tune.search import BasicVariantGenerator

from hpo.search.ray_compat.checkpoints import forget_checkpoint


def _noop(config: dict[str, Any]) -> None:
    pass


def test_a_forgotten_checkpoint_leaves_rays_list_and_the_saved_state(tmp_path: Path) -> None:
    tune.register_trainable("compat_noop", _noop)
    gen = BasicVariantGenerator(random_state=0)
    gen.add_configurations({"exp": {"run": "compat_noop", "config": {}, "num_samples": 1,
                                    "storage_path": str(tmp_path / "ray")}})
    trial = gen.next_trial()
    made = []
    for i in range(3):
        (tmp_path / f"checkpoint_{i}").mkdir()
        made.append(tune.Checkpoint.from_directory(str(tmp_path / f"checkpoint_{i}")))
        trial.run_metadata.checkpoint_manager.register_checkpoint(_TrainingResult(made[-1], {"training_iteration": i}))
    saved = trial.get_json_state()[1]
    forget_checkpoint(trial, made[0].path)
    manager = trial.run_metadata.checkpoint_manager
    assert [r.checkpoint.path for r in manager.best_checkpoint_results] == [made[1].path, made[2].path]
    assert trial.checkpoint.path == made[2].path
    assert trial.get_json_state()[1] != saved  # the cached state was dropped: Tune saves the pruned list


def test_a_trial_without_rays_metadata_is_left_alone() -> None:
    forget_checkpoint(SimpleNamespace(trial_id="t0"), "/nowhere")
