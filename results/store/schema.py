"""The store's tables (SQLAlchemy Core) and the schema version this code reads and writes.

Times are stored as UTC epoch seconds (floats): portable across SQLite and PostgreSQL, and
durations are a subtraction. JSON columns are plain text so every backend stores them alike.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SWEEP_STATUSES",
    "TRIAL_STATUSES",
    "metadata",
    "results_table",
    "schema_version_table",
    "sweeps_table",
    "trials_table",
]

# Bump when a table changes; Store.open refuses stores written by a newer version and migrates older
# ones (MIGRATIONS: the columns each version added, so an old store opens and reads unchanged).
SCHEMA_VERSION = 5

SWEEP_STATUSES = ("running", "finished", "failed", "interrupted")
TRIAL_STATUSES = ("running", "completed", "stopped_early", "error")

metadata = MetaData()

schema_version_table = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: a single row
    Column("version", Integer, nullable=False),
    Column("written_by", String(64), nullable=True),  # hpo version that created the store
)

sweeps_table = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("spec_yaml", Text, nullable=True),
    Column("spec_hash", String(128), nullable=True),
    Column("metric", String(255), nullable=False),
    Column("mode", String(3), nullable=False),
    Column("max_t", Integer, nullable=True),
    Column("started", Float, nullable=False),
    Column("finished", Float, nullable=True),
    # "spec_file": {"path", "sha256"} of the file the spec was read from, when it was (SweepRecord.spec_file)
    Column("versions", Text, nullable=True),  # JSON: {"hpo": .., "ray": .., "torch": .., "python": .., "spec_file": ..}
    Column("git_commit", String(64), nullable=True),
    Column("experiment_path", Text, nullable=True),
    # version 2
    Column("plan", Text, nullable=True),  # JSON of the sweep's plan (spaces.SweepPlan.to_dict)
    Column("storage_path", Text, nullable=True),  # Ray's storage_path (the experiment is <storage>/<name>)
    Column("reason", Text, nullable=True),  # why the sweep failed or was ended, one line
    # version 3: the driver process that runs the sweep (a live one blocks `hpo resume`)
    Column("driver_host", String(255), nullable=True),
    Column("driver_pid", Integer, nullable=True),
    Column("job_id", String(128), nullable=True),  # the Ray Job that runs the driver (`hpo submit`)
    Column("job_address", Text, nullable=True),  # that job's server, http://HEAD:8265
    Column("heartbeat", Float, nullable=True),  # epoch seconds of the driver's last sign of life
    # version 4: the sweep this one was derived from (`hpo confirm` re-runs its parent's top configs)
    Column("parent", String(255), nullable=True),
    # version 5: "logical" when the sweep declared GPUs that CUDA did not see (cluster.num_gpus on a
    # machine without them: its GPU-hours are Ray's bookkeeping, not GPU time), "cuda" when CUDA saw them
    Column("gpu_kind", String(16), nullable=True),
)

# version -> the (table, column, SQL type) it added, all nullable, added to a store of an older version.
MIGRATIONS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("sweeps", "plan", "TEXT"), ("sweeps", "storage_path", "TEXT"), ("sweeps", "reason", "TEXT")),
    3: (("sweeps", "driver_host", "VARCHAR(255)"), ("sweeps", "driver_pid", "INTEGER"),
        ("sweeps", "job_id", "VARCHAR(128)"), ("sweeps", "job_address", "TEXT"), ("sweeps", "heartbeat", "FLOAT"),
        ("trials", "node", "TEXT")),
    4: (("sweeps", "parent", "VARCHAR(255)"),),
    5: (("sweeps", "gpu_kind", "VARCHAR(16)"), ("trials", "replaced_by", "VARCHAR(255)")),
}

trials_table = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sweep_id", Integer, ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    Column("trial_id", String(255), nullable=False),  # Ray's trial id
    Column("config", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("best_metric", Float, nullable=True),
    Column("best_iteration", Integer, nullable=True),
    Column("last_metric", Float, nullable=True),
    Column("iterations", Integer, nullable=False, default=0),
    Column("checkpoint_path", Text, nullable=True),
    Column("last_result", Text, nullable=True),  # JSON of the last reported metrics
    Column("started", Float, nullable=True),
    Column("ended", Float, nullable=True),
    Column("node", Text, nullable=True),  # version 3: where it ran, "IP" or "IP node-id" (Ray's node id)
    # version 5: the trial that ran this errored trial's config again (`hpo resume --restart-errored`);
    # a replaced row stays for the record but is not counted among the sweep's trials
    Column("replaced_by", String(255), nullable=True),
    UniqueConstraint("sweep_id", "trial_id", name="uq_trials_sweep_trial"),
    Index("ix_trials_sweep_status", "sweep_id", "status"),
    Index("ix_trials_sweep_last", "sweep_id", "last_metric"),
    Index("ix_trials_sweep_best", "sweep_id", "best_metric"),
    Index("ix_trials_trial_id", "trial_id"),
)

results_table = Table(
    "results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("trial_pk", Integer, ForeignKey("trials.id", ondelete="CASCADE"), nullable=False),
    Column("iteration", Integer, nullable=False),  # Ray's training_iteration
    Column("time_total_s", Float, nullable=True),
    Column("metric_value", Float, nullable=True),  # the sweep's metric, for SQL-side min/max
    Column("metrics", Text, nullable=False),  # JSON of every reported scalar
    Column("recorded", Float, nullable=False),  # driver wall clock when the result arrived
    # The unique pair makes a replayed result (resume, retried trial) an update, never a duplicate.
    UniqueConstraint("trial_pk", "iteration", name="uq_results_trial_iteration"),
)
