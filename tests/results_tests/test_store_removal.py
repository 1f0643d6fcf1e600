"""Store: errored trials marked replaced (``hpo resume --restart-errored``), sweeps and trials removed
(``hpo rm``), and the spec's file recorded beside the versions; on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hpo.results import Store, SweepNotFoundError, TrialNotFoundError
from hpo.results.store.removal import Removed

from .conftest import SPEC_YAML, fill_demo


def _rows(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar())


# ------------------------------------------------------------------ replaced trials
def test_a_replaced_trial_is_kept_but_not_counted_listed_ranked_or_plotted(demo: Store) -> None:
    assert demo.mark_replaced("demo", {"t4": "t5"}) == 1
    assert demo.counts("demo") == {"running": 1, "completed": 3, "stopped_early": 1, "error": 0}
    assert demo.get_sweep("demo").num_trials == 5
    assert demo.sweeps()[0].counts["error"] == 0
    assert "t4" not in {t.trial_id for t in demo.trials("demo")}
    assert demo.trials("demo", status="error") == []
    every = {t.trial_id: t for t in demo.trials("demo", replaced=True)}
    assert len(every) == 6 and every["t4"].replaced_by == "t5" and every["t4"].status == "error"
    assert every["t0"].replaced_by is None
    assert demo.trials("demo", status="error", replaced=True)[0].trial_id == "t4"
    assert demo.best("demo").trial_id == "t0"
    assert "t4" not in set(demo.results_frame("demo")["trial_id"])
    assert len(demo.results_frame("demo")) == 4 + 4 + 4 + 2 + 2
    assert list(demo.results_frame("demo", trial_ids=["t4"])["trial_id"]) == ["t4"]  # asked for by id: there
    assert "t4" not in {mark[0] for mark in demo.trial_marks("demo")}
    assert demo.trials("demo", replaced=True)[0].to_dict()["replaced_by"] is None


def test_the_callback_never_puts_a_replaced_mark_back(demo: Store, tmp_path: Path) -> None:
    """A driver's callback loaded the rows before the resume marked one: its writes leave the mark alone."""
    from store_rows import FakeTrial

    from hpo.results import StoreCallback

    callback = StoreCallback(demo, sweep="demo", metric="val_loss", mode="min", max_t=4)
    callback.setup()  # loads t4 with replaced_by None
    demo.mark_replaced("demo", {"t4": "new1"})
    trial = FakeTrial("t4", {"lr": 0.1})
    callback.on_trial_error(0, [trial], trial)
    callback.on_trial_result(0, [trial], trial, {"training_iteration": 1, "val_loss": 3.0})  # replayed: recomputed
    callback.flush()
    assert {t.trial_id: t.replaced_by for t in demo.trials("demo", replaced=True)}["t4"] == "new1"


def test_mark_replaced_of_an_unknown_sweep(store: Store) -> None:
    with pytest.raises(SweepNotFoundError):
        store.mark_replaced("nope", {"a": "b"})


# ------------------------------------------------------------------ removal
def test_remove_sweep_takes_its_trials_and_results_and_nothing_else(demo: Store, tmp_path: Path) -> None:
    fill_demo(demo, tmp_path, name="other")
    demo.mark_replaced("demo", {"t4": "t5"})
    assert demo.remove_sweep("demo") == Removed(sweep="demo", trials=6, results=17, whole=True)
    assert demo.find_sweep("demo") is None
    assert demo.names() == ["other"]
    assert _rows(demo, "trials") == 6 and _rows(demo, "results") == 17  # the other sweep's, all of them
    assert len(demo.results_frame("other")) == 17
    with pytest.raises(SweepNotFoundError) as info:
        demo.remove_sweep("demo")
    assert str(info.value) == f"no sweep named 'demo' in {demo.url_masked}; the store has: other"


def test_a_removed_name_can_be_started_again(demo: Store) -> None:
    demo.remove_sweep("demo")
    demo.start_sweep(name="demo", spec_yaml=SPEC_YAML, spec_hash="h", metric="val_loss", mode="min")
    assert demo.counts("demo") == {"running": 0, "completed": 0, "stopped_early": 0, "error": 0}


def test_remove_trials_takes_those_trials_and_their_results(demo: Store) -> None:
    assert demo.remove_trials("demo", ["t0", "t3", "t0"]) == Removed(sweep="demo", trials=2, results=6, whole=False)
    assert sorted(t.trial_id for t in demo.trials("demo")) == ["t1", "t2", "t4", "t5"]
    assert len(demo.results_frame("demo")) == 4 + 4 + 1 + 2
    assert demo.get_sweep("demo").status == "running"  # the sweep's row stays as it was


def test_remove_trials_with_an_unknown_id_removes_nothing(demo: Store) -> None:
    with pytest.raises(TrialNotFoundError) as info:
        demo.remove_trials("demo", ["t0", "zz", "yy"])
    assert str(info.value) == ("sweep 'demo' has no trial 'zz', 'yy' (`hpo trials demo` lists its trials); "
                               "nothing removed")
    assert len(demo.trials("demo")) == 6
    with pytest.raises(ValueError, match="at least one trial id"):
        demo.remove_trials("demo", [])


def test_removing_the_trial_that_replaced_one_makes_that_one_count_again(demo: Store) -> None:
    demo.mark_replaced("demo", {"t4": "t5"})
    demo.remove_trials("demo", ["t5"])
    assert demo.counts("demo") == {"running": 0, "completed": 3, "stopped_early": 1, "error": 1}
    demo.mark_replaced("demo", {"t4": "t2"})
    assert demo.remove_trials("demo", ["t4"]).trials == 1  # a replaced row, by its id
    assert sorted(t.trial_id for t in demo.trials("demo", replaced=True)) == ["t0", "t1", "t2", "t3"]


# ------------------------------------------------------------------ the spec's file
def test_the_spec_file_is_recorded_once_beside_the_versions(store: Store) -> None:
    where = {"path": "/work/spec.yaml", "sha256": "ab" * 32}
    store.start_sweep(name="s", spec_yaml=SPEC_YAML, spec_hash="h", metric="val_loss", mode="min", spec_file=where)
    record = store.get_sweep("s")
    assert record.spec_file == where
    assert "spec_file" not in record.versions and "hpo" in record.versions
    store.finish_sweep("s", "interrupted")
    store.start_sweep(name="s", spec_yaml=SPEC_YAML, spec_hash="h", metric="val_loss", mode="min", resumed=True)
    assert store.get_sweep("s").spec_file == where  # a resume (no file of its own) keeps the first start's
    store.start_sweep(name="t", spec_yaml=SPEC_YAML, spec_hash="h", metric="val_loss", mode="min")
    assert store.get_sweep("t").spec_file is None
