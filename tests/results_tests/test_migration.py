"""A store written by hpo 0.1.0 (schema version 1) opens, migrates once, and reads as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from hpo.results import Store
from hpo.results.store.schema import SCHEMA_VERSION
from hpo.search.cli.main import cli

# The tables as hpo 0.1.0 created them (SQLite DDL of schema version 1).
V1_DDL = """
CREATE TABLE schema_version (id INTEGER NOT NULL, version INTEGER NOT NULL, written_by VARCHAR(64),
  PRIMARY KEY (id));
CREATE TABLE sweeps (id INTEGER NOT NULL, name VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL, spec_yaml TEXT,
  spec_hash VARCHAR(128), metric VARCHAR(255) NOT NULL, mode VARCHAR(3) NOT NULL, max_t INTEGER, started FLOAT NOT NULL,
  finished FLOAT, versions TEXT, git_commit VARCHAR(64), experiment_path TEXT, PRIMARY KEY (id), UNIQUE (name));
CREATE TABLE trials (id INTEGER NOT NULL, sweep_id INTEGER NOT NULL, trial_id VARCHAR(255) NOT NULL,
  config TEXT NOT NULL,
  status VARCHAR(16) NOT NULL, error TEXT, best_metric FLOAT, best_iteration INTEGER, last_metric FLOAT,
  iterations INTEGER NOT NULL, checkpoint_path TEXT, last_result TEXT, started FLOAT, ended FLOAT, PRIMARY KEY (id),
  CONSTRAINT uq_trials_sweep_trial UNIQUE (sweep_id, trial_id),
  FOREIGN KEY(sweep_id) REFERENCES sweeps (id) ON DELETE CASCADE);
CREATE TABLE results (id INTEGER NOT NULL, trial_pk INTEGER NOT NULL, iteration INTEGER NOT NULL, time_total_s FLOAT,
  metric_value FLOAT, metrics TEXT NOT NULL, recorded FLOAT NOT NULL, PRIMARY KEY (id),
  CONSTRAINT uq_results_trial_iteration UNIQUE (trial_pk, iteration),
  FOREIGN KEY(trial_pk) REFERENCES trials (id) ON DELETE CASCADE);
INSERT INTO schema_version VALUES (1, 1, '0.1.0');
INSERT INTO sweeps VALUES (1, 'old', 'finished', 'name: old', 'abc', 'loss', 'min', 4, 1700000000.0, 1700000100.0, '{}',
  NULL, '/data/runs/ray/old');
INSERT INTO trials VALUES (1, 1, 't1', '{"x": 0.5}', 'completed', NULL, 0.25, 2, 0.25, 2, NULL, '{"loss": 0.25}',
  1700000000.0, 1700000050.0);
INSERT INTO results VALUES (1, 1, 1, 1.0, 0.5, '{"loss": 0.5}', 1700000010.0);
INSERT INTO results VALUES (2, 1, 2, 2.0, 0.25, '{"loss": 0.25}', 1700000020.0);
"""


def _v1_store(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DDL)
    return f"sqlite:///{path}"


def test_a_v1_store_opens_migrated_and_reads_unchanged(tmp_path: Path) -> None:
    url = _v1_store(tmp_path / "old.sqlite")
    with Store.open(url, home=tmp_path) as store:
        record = store.get_sweep("old")
        assert (record.status, record.metric, record.max_t, record.num_trials) == ("finished", "loss", 4, 1)
        assert record.plan is None and record.reason is None
        assert record.storage_path == "/data/runs/ray"  # Ray's storage: the folder above the experiment
        best = store.best("old")
        assert best is not None and (best.trial_id, best.last_metric, best.config) == ("t1", 0.25, {"x": 0.5})
        assert list(store.history("t1")["loss"]) == [0.5, 0.25]
    with sqlite3.connect(tmp_path / "old.sqlite") as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    with Store.open(url, home=tmp_path) as again:  # a second open finds nothing left to migrate
        assert again.get_sweep("old").storage_path == "/data/runs/ray"


def test_read_commands_work_on_a_v1_store(tmp_path: Path) -> None:
    url = _v1_store(tmp_path / "old.sqlite")
    result = CliRunner().invoke(cli, ["best", "old", "--store", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"trial_id": "t1"' in result.output
