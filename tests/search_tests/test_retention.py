"""Trial checkpoints are deleted only once no saved experiment state can point at them."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest
from ray.tune import Checkpoint

from hpo.search import run_sweep
from hpo.search.engine.retention import CheckpointRetention


def _checkpoints(tmp_path: Path, n: int) -> list[Checkpoint]:
    made = []
    for i in range(n):
        folder = tmp_path / f"checkpoint_{i:06d}"
        folder.mkdir()
        (folder / "state.txt").write_text(str(i))
        made.append(Checkpoint.from_directory(str(folder)))
    return made


def _left(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.glob("checkpoint_*"))


def test_a_checkpoint_goes_two_snapshots_after_it_left_the_newest_kept(tmp_path: Path) -> None:
    retention = CheckpointRetention(keep=2)
    trial = SimpleNamespace(trial_id="t0")
    made = _checkpoints(tmp_path, 6)
    for pair in (made[0:2], made[2:4], made[4:6]):
        for checkpoint in pair:
            retention.on_checkpoint(0, [trial], trial, checkpoint)
        retention.get_state()
    # At the snapshot before last the trial had 2 checkpoints, both among the newest 2 then.
    assert len(_left(tmp_path)) == 6
    retention.get_state()  # the snapshot before last saw 4: the first 2 are named by no saved state
    assert _left(tmp_path) == [f"checkpoint_{i:06d}" for i in range(2, 6)]
    retention.get_state()
    assert _left(tmp_path) == ["checkpoint_000004", "checkpoint_000005"]
    retention.get_state()
    assert _left(tmp_path) == ["checkpoint_000004", "checkpoint_000005"]  # the newest 2 stay


def test_ray_stores_it_by_its_setting_and_a_restored_run_counts_afresh(tmp_path: Path) -> None:
    retention = CheckpointRetention(keep=3)
    trial = SimpleNamespace(trial_id="t0")
    retention.on_checkpoint(0, [trial], trial, _checkpoints(tmp_path, 1)[0])
    restored = pickle.loads(pickle.dumps(retention))
    assert restored.keep == 3 and restored._trials == {}


@pytest.mark.integration
def test_a_real_sweep_deletes_old_checkpoints_and_keeps_the_newest(
    ray_session: None, tmp_home: Path, make_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0.2")  # snapshot often, so pruning happens within the run
    spec = make_spec(
        name="pruned", trainable="toy:checkpointed", scheduler={"type": "fifo", "max_t": 12},
        search={"algorithm": "random", "num_samples": 1, "seed": 0}, fixed={"max_iter": 12, "sleep": 0.4},
    )
    outcome = run_sweep(spec, home=tmp_home, progress="none")
    assert outcome.status == "finished"
    (trial_dir,) = Path(outcome.experiment_path).glob("checkpointed_*")
    left = sorted(p.name for p in trial_dir.glob("checkpoint_*"))
    assert "checkpoint_000011" in left  # the newest is never deleted
    assert 2 <= len(left) < 12, left  # the old ones went; the newest 2 stayed
