"""Schema version 3: the driver columns, the heartbeat and ``lost``, each trial's node, and the migration."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hpo.results import HEARTBEAT_STALE_S, Store, SweepNotFoundError, trials_to_csv, trials_to_json
from hpo.results.store.schema import SCHEMA_VERSION
from hpo.results.store.writer import BatchWriter, TrialState

from .conftest import SPEC_YAML


def _start(store: Store, name: str = "s1") -> None:
    store.start_sweep(name=name, spec_yaml=SPEC_YAML, spec_hash="abc", metric="val_loss", mode="min")


def test_driver_recorded_and_heartbeat_stamped(store: Store) -> None:
    _start(store)
    assert store.get_sweep("s1").heartbeat is None and not store.get_sweep("s1").lost
    store.set_driver("s1", host="h1", pid=4242, job_id="hpo-s1-abc")
    record = store.get_sweep("s1")
    assert (record.driver_host, record.driver_pid, record.job_id) == ("h1", 4242, "hpo-s1-abc")
    assert record.heartbeat_age_s is not None and record.heartbeat_age_s < 5
    assert record.shown_status == "running"
    assert record.to_dict()["driver"] == {"host": "h1", "pid": 4242, "job_id": "hpo-s1-abc", "job_address": None,
                                          "heartbeat": record.to_dict()["driver"]["heartbeat"], "lost": False}


def test_stale_heartbeat_shows_lost_only_while_running(store: Store) -> None:
    _start(store)
    store.set_driver("s1", host="h1", pid=1)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sweeps SET heartbeat = :t"), {"t": time.time() - HEARTBEAT_STALE_S - 1})
    assert store.get_sweep("s1").lost and store.get_sweep("s1").shown_status == "lost"
    store.heartbeat("s1")
    assert store.get_sweep("s1").shown_status == "running"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sweeps SET heartbeat = :t"), {"t": time.time() - HEARTBEAT_STALE_S - 1})
    store.finish_sweep("s1", "interrupted")
    assert store.get_sweep("s1").shown_status == "interrupted"


def test_trial_node_written_and_shown_in_json_and_csv(store: Store) -> None:
    _start(store)
    writer = BatchWriter(store.engine, sweep="s1", metric="val_loss", mode="min")
    writer.ensure_sweep(max_t=4)
    a, b = TrialState.new("s1", "a"), TrialState.new("s1", "b")
    a.update(node="127.0.0.1 " + "ab" * 28)
    b.update(node="10.0.0.7")
    a.add_result(1, 0.5, {"val_loss": 0.5}, "min")
    writer.flush([a, b], [])
    trials = {t.trial_id: t for t in store.trials("s1")}
    assert trials["a"].node_info == {"ip": "127.0.0.1", "id": "ab" * 28}
    assert trials["b"].node_info == {"ip": "10.0.0.7", "id": None}
    doc = {t["trial_id"]: t for t in json.loads(trials_to_json(trials.values()))}
    assert doc["a"]["node"] == {"ip": "127.0.0.1", "id": "ab" * 28}
    header, *rows = trials_to_csv(list(trials.values())).splitlines()
    assert header.split(",")[12] == "node" and any(row.split(",")[12] == "10.0.0.7" for row in rows)
    assert {s.trial.trial_id: s.trial.node for s in writer.load_states().values()}["b"] == "10.0.0.7"


def _v2_store(path: Path) -> str:
    """A store as hpo wrote it at schema version 2 (its DDL, one sweep and one trial)."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
                          "written_by VARCHAR(64))"))
        conn.execute(text("INSERT INTO schema_version VALUES (1, 2, '0.2')"))
        conn.execute(text(
            "CREATE TABLE sweeps (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL UNIQUE, status VARCHAR(16) "
            "NOT NULL, spec_yaml TEXT, spec_hash VARCHAR(128), metric VARCHAR(255) NOT NULL, mode VARCHAR(3) NOT "
            "NULL, max_t INTEGER, started FLOAT NOT NULL, finished FLOAT, versions TEXT, git_commit VARCHAR(64), "
            "experiment_path TEXT, plan TEXT, storage_path TEXT, reason TEXT)"))
        conn.execute(text(
            "CREATE TABLE trials (id INTEGER PRIMARY KEY, sweep_id INTEGER NOT NULL REFERENCES sweeps(id), "
            "trial_id VARCHAR(255) NOT NULL, config TEXT NOT NULL, status VARCHAR(16) NOT NULL, error TEXT, "
            "best_metric FLOAT, best_iteration INTEGER, last_metric FLOAT, iterations INTEGER NOT NULL, "
            "checkpoint_path TEXT, last_result TEXT, started FLOAT, ended FLOAT, "
            "UNIQUE (sweep_id, trial_id))"))
        conn.execute(text(
            "CREATE TABLE results (id INTEGER PRIMARY KEY, trial_pk INTEGER NOT NULL REFERENCES trials(id), "
            "iteration INTEGER NOT NULL, time_total_s FLOAT, metric_value FLOAT, metrics TEXT NOT NULL, "
            "recorded FLOAT NOT NULL, UNIQUE (trial_pk, iteration))"))
        conn.execute(text("INSERT INTO sweeps (name, status, metric, mode, started, storage_path) "
                          "VALUES ('old', 'finished', 'val_loss', 'min', 1.0, '/x/ray')"))
        conn.execute(text("INSERT INTO trials (sweep_id, trial_id, config, status, iterations, last_metric) "
                          "VALUES (1, 't0', '{}', 'completed', 3, 0.25)"))
    engine.dispose()
    return url


def test_version_2_store_migrates_to_the_current_version_and_reads_unchanged(tmp_path: Path) -> None:
    url = _v2_store(tmp_path / "old.sqlite")
    with Store.open(url, home=tmp_path) as store:
        old = store.get_sweep("old")
        assert (old.status, old.storage_path, old.driver_host, old.heartbeat, old.lost, old.parent) == (
            "finished", "/x/ray", None, None, False, None)
        assert [(t.trial_id, t.last_metric, t.node) for t in store.trials("old")] == [("t0", 0.25, None)]
        store.set_driver("old", host="h", pid=7)  # the new columns take writes
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_version")).scalar() == SCHEMA_VERSION == 5
    with Store.open(url, home=tmp_path) as again:  # a second open finds nothing left to migrate
        assert again.get_sweep("old").driver_pid == 7


def test_set_driver_on_a_missing_sweep_names_close_ones(store: Store) -> None:
    _start(store, "alpha")
    with pytest.raises(SweepNotFoundError) as err:
        store.set_driver("alpah", host="h", pid=1)
    assert str(err.value).endswith("; close names: alpha")
