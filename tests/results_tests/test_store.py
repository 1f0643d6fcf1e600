"""Store: opening, schema versioning, every query and every sweep status transition."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from hpo.results import Store, StoreError, SweepExistsError, SweepNotFoundError, TrialNotFoundError
from hpo.results.store.db import mask
from hpo.results.store.schema import SCHEMA_VERSION

from .conftest import SPEC_YAML, XSS


def _start(store: Store, name: str = "s1", **kw: object) -> None:
    args = {"name": name, "spec_yaml": SPEC_YAML, "spec_hash": "abc", "metric": "val_loss", "mode": "min",
            "experiment_path": "/tmp/x", "max_t": 4}
    args.update(kw)
    store.start_sweep(**args)  # type: ignore[arg-type]


# ------------------------------------------------------------------ opening
def test_open_default_url_prefers_arg_then_env_home_then_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_home: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open(home=tmp_path / "explicit") as store:
        assert store.url == f"sqlite:///{tmp_path / 'explicit' / 'store.sqlite'}"
    with Store.open() as store:
        assert store.url == f"sqlite:///{tmp_home / 'store.sqlite'}"
        assert store.home == tmp_home
    monkeypatch.delenv("HPO_HOME")
    with Store.open() as store:
        assert store.url == f"sqlite:///{tmp_path / 'runs' / 'store.sqlite'}"
        assert (tmp_path / "runs" / "store.sqlite").exists()


def test_open_url_prefers_arg_then_hpo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("HPO_STORE", env_url)
    with Store.open(home=tmp_path) as store:
        assert store.url == env_url
    arg_url = f"sqlite:///{tmp_path / 'arg.sqlite'}"
    with Store.open(arg_url, home=tmp_path) as store:
        assert store.url == arg_url


def test_sqlite_store_runs_in_wal_mode(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_url_masked_hides_the_password() -> None:
    assert mask("postgresql+psycopg2://hpo:s3cret@db.example:5432/sweeps") == (
        "postgresql+psycopg2://hpo:***@db.example:5432/sweeps")
    assert mask("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"


def test_store_url_masked_property(store: Store) -> None:
    assert "***" in store.url_masked or store.url_masked == store.url
    assert repr(store) == f"Store({store.url_masked!r})"


def test_sweep_records_keep_storage_whole_and_show_it_masked(store: Store) -> None:
    storage = "s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs?endpoint_override=minio:9000&session_token=FwoG"
    _start(store, experiment_path="s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs/s1", storage_path=storage,
           spec_yaml=f"{SPEC_YAML}storage: {storage}\n")
    store.finish_sweep("s1", "failed", reason=f"storage: cannot reach {storage}: AccessDenied")
    record = store.get_sweep("s1")
    assert record.storage_path == storage  # a resume reads it back: the record keeps it whole
    shown = "s3://AKIAEXAMPLE:***@bucket/runs?endpoint_override=minio:9000&session_token=***"
    data = record.to_dict()
    assert (data["storage_path"], data["experiment_path"]) == (shown, "s3://AKIAEXAMPLE:***@bucket/runs/s1")
    assert data["spec_yaml"] == f"{SPEC_YAML}storage: {shown}\n"
    assert data["reason"] == f"storage: cannot reach {shown}: AccessDenied"


def test_bad_url_is_a_one_line_store_error() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("not a url")
    assert str(info.value) == "store URL 'not a url' is not a SQLAlchemy URL (e.g. sqlite:///runs/store.sqlite)"


def test_store_of_a_newer_schema_is_refused(store: Store, store_url: str, tmp_path: Path) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StoreError) as info:
        Store.open(store_url, home=tmp_path)
    assert str(info.value) == (
        f"store {store.url_masked} has schema version {SCHEMA_VERSION + 1}, newer than this hpo reads "
        f"({SCHEMA_VERSION}); upgrade hpo to open it")


def test_reopening_keeps_data(store: Store, store_url: str, tmp_path: Path) -> None:
    _start(store)
    with Store.open(store_url, home=tmp_path) as again:
        assert [s.name for s in again.sweeps()] == ["s1"]


def test_store_pickles_by_url(store: Store) -> None:
    import pickle

    _start(store)
    clone = pickle.loads(pickle.dumps(store))
    assert clone.url == store.url and clone.get_sweep("s1").name == "s1"
    clone.close()


# ------------------------------------------------------------------ sweeps
def test_sweep_status_transitions(store: Store) -> None:
    _start(store)
    first = store.get_sweep("s1")
    assert (first.status, first.finished, first.max_t) == ("running", None, 4)
    assert store.finish_sweep("s1", "interrupted").status == "interrupted"
    assert store.get_sweep("s1").finished is not None
    resumed = store.start_sweep(name="s1", spec_yaml=None, spec_hash=None, metric="val_loss", mode="min",
                                resumed=True)
    assert (resumed.status, resumed.finished, resumed.started) == ("running", None, first.started)
    assert resumed.spec_yaml == SPEC_YAML  # None on resume keeps what was recorded
    assert store.finish_sweep("s1", "failed").status == "failed"
    store.start_sweep(name="s1", spec_yaml=None, spec_hash=None, metric="val_loss", mode="min", resumed=True)
    done = store.finish_sweep("s1", "finished")
    assert done.status == "finished" and done.duration_s is not None and done.duration_s >= 0


def test_start_sweep_twice_without_resume_is_refused(store: Store) -> None:
    _start(store)
    with pytest.raises(SweepExistsError) as info:
        _start(store)
    assert str(info.value) == (
        f"sweep 's1' already exists in {store.url_masked}; pick another name (--name) "
        "or continue it with `hpo resume s1`")


def test_bad_status_and_mode_are_refused(store: Store) -> None:
    _start(store)
    with pytest.raises(ValueError, match=r"^status must be one of finished, failed, interrupted, got 'done'$"):
        store.finish_sweep("s1", "done")
    with pytest.raises(ValueError, match=r"^mode must be 'min' or 'max', got 'up'$"):
        _start(store, name="s2", mode="up")


def test_finish_unknown_sweep_raises_not_found(store: Store) -> None:
    with pytest.raises(SweepNotFoundError):
        store.finish_sweep("nope", "finished")


def test_unknown_sweep_lists_close_names(store: Store) -> None:
    for name in ("cifar10-asha", "cifar10-fifo", "quickstart"):
        _start(store, name=name)
    with pytest.raises(SweepNotFoundError) as info:
        store.get_sweep("cifar10-ash")
    assert str(info.value) == (
        f"no sweep named 'cifar10-ash' in {store.url_masked}; close names: cifar10-asha, cifar10-fifo")
    assert info.value.close == ["cifar10-asha", "cifar10-fifo"]
    with pytest.raises(SweepNotFoundError) as info:
        store.get_sweep("zzz")
    assert str(info.value) == (
        f"no sweep named 'zzz' in {store.url_masked}; the store has: cifar10-asha, cifar10-fifo, quickstart")
    assert store.find_sweep("zzz") is None


def test_unknown_sweep_in_an_empty_store(store: Store) -> None:
    with pytest.raises(SweepNotFoundError) as info:
        store.get_sweep("x")
    assert str(info.value) == f"no sweep named 'x' in {store.url_masked}; the store has no sweeps yet"


def test_sweeps_newest_first_with_counts(demo: Store) -> None:
    _start(demo, name="later")
    sweeps = demo.sweeps()
    assert [s.name for s in sweeps] == ["later", "demo"]
    assert sweeps[1].counts == {"running": 1, "completed": 3, "stopped_early": 1, "error": 1}
    assert sweeps[0].counts == {"running": 0, "completed": 0, "stopped_early": 0, "error": 0}
    assert sweeps[1].num_trials == 6


def test_versions_and_git_commit_are_recorded(store: Store, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    monkeypatch.chdir(repo)
    _start(store, name="in-git")
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    _start(store, name="no-git")
    record = store.get_sweep("in-git")
    assert record.git_commit == head
    assert store.get_sweep("no-git").git_commit is None
    assert set(record.versions) == {"hpo", "ray", "torch", "python"}
    assert record.versions["ray"] and record.versions["python"].count(".") == 2


# ------------------------------------------------------------------ trials
def test_trials_are_ordered_by_last_metric_respecting_min(demo: Store) -> None:
    assert [t.trial_id for t in demo.trials("demo")] == ["t0", "t1", "t2", "t5", "t3", "t4"]
    assert [t.trial_id for t in demo.trials("demo", top=2)] == ["t0", "t1"]
    assert [t.trial_id for t in demo.trials("demo", scope="all")] == ["t1", "t0", "t2", "t5", "t3", "t4"]
    assert [t.trial_id for t in demo.trials("demo", status="completed")] == ["t0", "t1", "t2"]


def test_trials_respect_max_mode(store: Store, tmp_path: Path) -> None:
    from hpo.results import StoreCallback

    from .conftest import FakeTrial

    _start(store, name="acc", metric="val_acc", mode="max")
    cb = StoreCallback(store, sweep="acc", metric="val_acc", mode="max", max_t=2)
    trials = [FakeTrial("a", {}), FakeTrial("b", {}), FakeTrial("c", {})]
    for trial, values in zip(trials, ([0.1, 0.5], [0.9, 0.3], []), strict=True):
        cb.on_trial_start(0, trials, trial)
        for step, value in enumerate(values, start=1):
            cb.on_trial_result(0, trials, trial, {"training_iteration": step, "val_acc": value})
    cb.flush()
    assert [t.trial_id for t in store.trials("acc")] == ["a", "b", "c"]  # no metric sorts last
    assert [t.trial_id for t in store.trials("acc", scope="all")] == ["b", "a", "c"]
    assert store.best("acc").trial_id == "a"
    assert store.best("acc", scope="all").trial_id == "b"


def test_trial_record_fields(demo: Store, tmp_path: Path) -> None:
    by_id = {t.trial_id: t for t in demo.trials("demo")}
    t1 = by_id["t1"]
    assert (t1.status, t1.best_metric, t1.best_iteration, t1.last_metric, t1.iterations) == (
        "completed", 0.2, 3, 0.35, 4)
    assert t1.config["optimizer"] == {"name": "adamw", "weight_decay": 0.01}
    assert t1.last_result == {"training_iteration": 4, "time_total_s": 2.0, "val_loss": 0.35,
                              "val_acc": pytest.approx(1 - 0.35 / 3), "nested/a": 4}
    assert t1.started is not None and t1.ended is not None and t1.error is None
    assert by_id["t0"].checkpoint_path == str(tmp_path / "ckpt" / "t0")
    assert by_id["t3"].status == "stopped_early" and by_id["t3"].iterations == 2
    assert by_id["t4"].status == "error" and f"ValueError: boom {XSS}" in by_id["t4"].error
    assert by_id["t5"].status == "running" and by_id["t5"].ended is None
    assert by_id["t4"].to_dict()["status"] == "error"


def test_bad_query_arguments(demo: Store) -> None:
    with pytest.raises(ValueError, match=r"^scope must be 'last' or 'all', got 'first'$"):
        demo.trials("demo", scope="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^top must be >= 1, got 0$"):
        demo.trials("demo", top=0)
    with pytest.raises(SweepNotFoundError):
        demo.trials("dem")


def test_best_by_scope(demo: Store) -> None:
    assert demo.best("demo").trial_id == "t0"
    assert demo.best("demo", scope="all").trial_id == "t1"


def test_best_is_none_before_any_metric(store: Store) -> None:
    _start(store)
    assert store.best("s1") is None


def test_counts_cover_every_status(demo: Store) -> None:
    assert demo.counts("demo") == {"running": 1, "completed": 3, "stopped_early": 1, "error": 1}


def test_history_is_a_dataframe_by_iteration(demo: Store) -> None:
    frame = demo.history("t1")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["iteration"]) == [1, 2, 3, 4]
    assert list(frame["val_loss"]) == [0.9, 0.5, 0.2, 0.35]
    assert {"time_total_s", "recorded", "val_acc", "nested/a"} <= set(frame.columns)
    assert list(demo.history("t1", sweep="demo")["iteration"]) == [1, 2, 3, 4]


def test_history_of_unknown_trial(demo: Store) -> None:
    with pytest.raises(TrialNotFoundError) as info:
        demo.history("nope")
    assert str(info.value) == f"no trial 'nope' in {demo.url_masked}"


def test_history_of_a_trial_id_in_two_sweeps_needs_the_sweep(demo: Store, tmp_path: Path) -> None:
    from .conftest import fill_demo

    fill_demo(demo, tmp_path, name="again")
    with pytest.raises(TrialNotFoundError) as info:
        demo.history("t1")
    assert str(info.value) == "trial id 't1' is in 2 sweeps; name the sweep (sweep=...)"
    assert len(demo.history("t1", sweep="again")) == 4


def test_results_frame_has_every_result(demo: Store) -> None:
    frame = demo.results_frame("demo")
    assert list(frame.columns) == ["trial_id", "iteration", "time_total_s", "metric", "recorded"]
    assert len(frame) == 4 + 4 + 4 + 2 + 1 + 2


def test_a_trial_row_is_spelled_once() -> None:
    from hpo.results.store.records import TRIAL_FIELDS, TrialRecord
    from hpo.results.store.schema import trials_table

    # TrialRecord's fields are the trials table's columns: the loader and the writer map them by name.
    assert set(TRIAL_FIELDS) == {c.name for c in trials_table.columns} - {"id", "sweep_id"}
    assert "sweep" in TrialRecord.__dataclass_fields__
