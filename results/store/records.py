"""Plain, immutable records the store hands out: one sweep, one trial."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from hpo.results.secrets import mask_secrets, mask_url

__all__ = [
    "HEARTBEAT_EVERY_S",
    "HEARTBEAT_STALE_S",
    "LINEAGE_KEY",
    "TRIAL_FIELDS",
    "ExploitRecord",
    "SweepRecord",
    "TrialRecord",
    "checked_number",
    "dumps",
    "finite",
    "from_epoch",
    "iso",
    "loads",
    "trial_from_row",
    "trial_row",
]

HEARTBEAT_EVERY_S = 10.0  # a running driver stamps the sweep's heartbeat this often
# No stamp for this long: the driver is gone (killed, machine lost). Six beats of slack so a driver
# busy in a long store write or a slow network is not called lost.
HEARTBEAT_STALE_S = 60.0

# A result that carries this key (a dict: from_trial, from_step, at_step) is the first one its trial
# trained from another trial's checkpoint (PBT's exploit); stored flattened as pbt/from_trial...
logger = logging.getLogger(__name__)

LINEAGE_KEY = "pbt"


def from_epoch(value: float | None) -> datetime | None:
    """UTC-aware datetime from stored epoch seconds (None stays None)."""
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 text of a datetime, to the second (None stays None)."""
    return None if value is None else value.isoformat(timespec="seconds")


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    stop = end if end is not None else datetime.now(tz=UTC)
    return max(0.0, (stop - start).total_seconds())


def _masked_url(value: str | None) -> str | None:
    return None if value is None else mask_url(value)


def _masked_text(value: str | None) -> str | None:
    return None if value is None else mask_secrets(value)


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a sweep, as the store holds it.

    Attributes:
        sweep: Name of the sweep the trial belongs to.
        trial_id: Ray Tune's trial id.
        config: The trial's full config (searched values and fixed constants).
        status: ``running``, ``completed``, ``stopped_early`` or ``error``.
        error: Error text (Ray's error file) when the trial errored, else None.
        best_metric: Best value of the sweep's metric over all iterations (mode respected).
        best_iteration: The iteration ``best_metric`` was reported at.
        last_metric: The metric's value in the last reported result.
        iterations: Training iterations reported (Ray's ``training_iteration`` of the last result).
        checkpoint_path: Latest checkpoint's path, when the trial saved one.
        last_result: Every scalar of the last reported result.
        started: When the trial started (UTC).
        ended: When it completed, stopped or errored (UTC); None while running.
        node: The Ray node it last ran on: ``"IP"``, or ``"IP NODE_ID"`` when Ray's node id is known.
        replaced_by: For an errored trial whose config ran again as a new trial (``hpo resume
            --restart-errored``), that trial's id: the row stays for the record but is not counted.
    """

    sweep: str
    trial_id: str
    config: dict[str, Any]
    status: str
    error: str | None = None
    best_metric: float | None = None
    best_iteration: int | None = None
    last_metric: float | None = None
    iterations: int = 0
    checkpoint_path: str | None = None
    last_result: dict[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    ended: datetime | None = None
    node: str | None = None
    replaced_by: str | None = None
    malformed: tuple[str, ...] = field(default=(), compare=False)  # columns whose stored value was not a number

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (to now while running)."""
        return _duration(self.started, self.ended)

    def metric(self, scope: str = "last") -> float | None:
        """The metric under Ray's ``scope`` meaning: ``last`` value or best over ``all``."""
        return self.best_metric if scope == "all" else self.last_metric

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every field (times as ISO-8601 text), then ``duration_s``; keys are
        documented in the README. For showing, not for opening: secrets in ``checkpoint_path`` and
        ``error`` are masked (``s3://KEY:***@bucket``); the record's own fields keep them."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "malformed"}
        return {**data, "checkpoint_path": _masked_url(self.checkpoint_path), "error": _masked_text(self.error),
                "started": iso(self.started), "ended": iso(self.ended), "duration_s": self.duration_s,
                "node": self.node_info, **({"malformed": list(self.malformed)} if self.malformed else {})}

    @property
    def node_info(self) -> dict[str, str | None] | None:
        """The node as ``{"ip": ..., "id": ...}`` (``id`` None when Ray's node id was not known)."""
        if not self.node:
            return None
        ip, _, node_id = self.node.partition(" ")
        return {"ip": ip, "id": node_id or None}


# A trial row is spelled once: TrialRecord's fields are the trials table's columns (less the keys
# `id`/`sweep_id`), converted only by kind here, for the store's reads and the callback's writes.
_JSON_FIELDS = frozenset({"config", "last_result"})
_TIME_FIELDS = frozenset({"started", "ended"})
TRIAL_FIELDS = tuple(f.name for f in fields(TrialRecord) if f.name not in ("sweep", "malformed"))
# Numeric columns: a store written by something else may hold text there (SQLite keeps what it is given).
_NUMBER_FIELDS = {"best_metric": float, "last_metric": float, "best_iteration": int, "iterations": int,
                  "started": float, "ended": float}


def checked_number(value: Any, kind: type[int] | type[float] = float) -> tuple[int | float | None, bool]:
    """(the value as ``kind``, True), or (None, False) when a stored value is not a finite number (None is
    (None, True))."""
    if value is None:
        return None, True
    number = finite(value)
    if number is None or (kind is int and number != int(number)):
        return None, False
    return kind(number), True


def dumps(value: Any) -> str:
    """Compact JSON as the store keeps it; anything JSON cannot hold is written as its ``str`` (a NaN or
    infinity inside a config as JSON's ``NaN``/``Infinity``, which every reader here accepts)."""
    try:
        return json.dumps(value, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:  # NaN/inf inside a config
        return json.dumps(value, separators=(",", ":"), default=str)


def loads(text: str | None, default: Any = None) -> Any:
    """The value stored as JSON ``text``; ``default`` when there is none or it is not JSON (a store written
    by something else)."""
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def trial_from_row(sweep: str, row: Any) -> TrialRecord:
    """The record of one ``trials`` row (the one loader: the store's reads and the callback's resume)."""
    values: dict[str, Any] = {}
    malformed = []
    for name in TRIAL_FIELDS:
        value = getattr(row, name)
        if name in _NUMBER_FIELDS:
            value, fine = checked_number(value, _NUMBER_FIELDS[name])
            if not fine:
                malformed.append(name)
        if name in _JSON_FIELDS:
            value = loads(value, {})
            value = value if isinstance(value, dict) else {}
        elif name in _TIME_FIELDS:
            value = from_epoch(value)
        values[name] = value
    values["iterations"] = values["iterations"] or 0
    if not isinstance(values["trial_id"], str) or not isinstance(values["status"], str):
        values["trial_id"], values["status"] = str(values["trial_id"]), str(values["status"])
    if malformed:
        logger.warning("store: trial %r of sweep %r holds a value that is not a number in %s; shown as none",
                       values["trial_id"], sweep, ", ".join(malformed))
    return TrialRecord(sweep=sweep, **values, malformed=tuple(malformed))


def trial_row(trial: TrialRecord, sweep_id: int) -> dict[str, Any]:
    """The ``trials`` row of a record (the one writer mapping)."""
    row: dict[str, Any] = {"sweep_id": sweep_id}
    for name in TRIAL_FIELDS:
        value = getattr(trial, name)
        if name in _JSON_FIELDS:
            value = dumps(value)
        elif name in _TIME_FIELDS:
            value = None if value is None else value.timestamp()
        row[name] = value
    return row


@dataclass(frozen=True)
class SweepRecord:
    """One sweep, as the store holds it.

    Attributes:
        name: The sweep's name (unique in the store).
        status: ``running``, ``finished``, ``failed`` or ``interrupted``.
        spec_yaml: The resolved spec as YAML.
        spec_hash: Stable digest of the resolved spec.
        metric: The metric the sweep optimises.
        mode: ``min`` or ``max``.
        started: When the sweep started (UTC); a resume keeps the first start.
        finished: When it finished (UTC); None while running.
        versions: Versions of hpo, ray, torch and python that ran it.
        git_commit: Commit of the working directory it ran from, when known.
        experiment_path: Ray's experiment directory.
        counts: Trials by status (all four statuses present).
        max_t: The scheduler's max_t (for telling early stops apart), when known.
        plan: The sweep's plan as plain data (``spaces.SweepPlan.to_dict``): planned trials,
            ``trial_cap``, ``rungs``, ``early_stopping``, ``axes``, ``resources``, ``stop``...;
            None for a sweep recorded without one (a bare callback, a store from hpo 0.1).
        storage_path: Ray's storage (trial directories, checkpoints), when known.
        reason: Why the sweep failed or was ended (one line), when it did.
        driver_host: Host name of the process running the sweep (its driver).
        driver_pid: That process's id on ``driver_host``.
        job_id: The Ray Job running the driver, for a sweep started with ``hpo submit``.
        job_address: That job's server (``http://HEAD:8265``), where status, logs and stop go.
        heartbeat: The driver's last sign of life (UTC), stamped every ``HEARTBEAT_EVERY_S``.
        parent: The sweep this one was derived from: a confirmation (``hpo confirm``) names the sweep
            whose top configs it re-runs; None for a sweep of its own.
        gpu_kind: ``"cuda"`` when the GPUs the sweep declared were GPUs CUDA saw, ``"logical"`` when
            they were Ray's bookkeeping only (``cluster.num_gpus`` on a machine without them: no trial
            ran on a GPU); None when its trials asked for none, when it joined a cluster (whose nodes'
            GPUs the driver cannot check), or for a sweep recorded before hpo knew.
        spec_file: The file its spec was read from when it started, ``{"path": ABSOLUTE, "sha256": OF ITS
            TEXT}`` (``hpo resume`` says when the file changed since); None for a spec from a dict, a built-in
            name or the store (kept in the ``versions`` JSON, not among the versions).
    """

    name: str
    status: str
    spec_yaml: str | None
    spec_hash: str | None
    metric: str
    mode: str
    started: datetime | None
    finished: datetime | None
    versions: dict[str, str | None]
    git_commit: str | None
    experiment_path: str | None
    counts: dict[str, int]
    max_t: int | None = None
    plan: dict[str, Any] | None = None
    storage_path: str | None = None
    reason: str | None = None
    driver_host: str | None = None
    driver_pid: int | None = None
    job_id: str | None = None
    job_address: str | None = None
    heartbeat: datetime | None = None
    parent: str | None = None
    gpu_kind: str | None = None
    spec_file: dict[str, str] | None = None

    @property
    def ended_at(self) -> datetime | None:
        """When the sweep's clock stopped: its finish; its last heartbeat for a sweep whose driver died
        unannounced (``lost``), one marked ``interrupted`` long after its driver went silent, or one ended
        without a finish time; None while it runs.

        A lost sweep's time must not grow with the clock: a driver killed after 45 s is not a 24-minute sweep.
        """
        if self.status == "running":
            return self.heartbeat if self.lost else None
        if self.heartbeat is not None and (self.finished is None or (
                self.status == "interrupted" and (self.finished - self.heartbeat).total_seconds() > HEARTBEAT_STALE_S)):
            return self.heartbeat
        return self.finished

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to ``ended_at``: to its finish, to its last heartbeat when it was lost, to now
        while it runs."""
        return _duration(self.started, self.ended_at)

    @property
    def heartbeat_age_s(self) -> float | None:
        """Seconds since the driver's last heartbeat; None when it never stamped one."""
        if self.heartbeat is None:
            return None
        return max(0.0, (datetime.now(tz=UTC) - self.heartbeat).total_seconds())

    @property
    def lost(self) -> bool:
        """Recorded ``running`` but its driver stopped stamping the heartbeat: it died unannounced."""
        age = self.heartbeat_age_s
        return self.status == "running" and age is not None and age > HEARTBEAT_STALE_S

    @property
    def shown_status(self) -> str:
        """The status to show a person: ``lost`` for a running sweep whose driver went silent."""
        return "lost" if self.lost else self.status

    @property
    def num_trials(self) -> int:
        """Trials of every status."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO-8601 text); keys are documented in the README. For showing, not
        for opening: secrets in the paths, the spec's YAML, the reason and the job's address are masked
        (``s3://KEY:***@bucket``); the record's own fields keep them (a resume reads them)."""
        return {
            "name": self.name,
            "status": self.status,
            "metric": self.metric,
            "mode": self.mode,
            "max_t": self.max_t,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "duration_s": self.duration_s,
            "counts": dict(self.counts),
            "spec_hash": self.spec_hash,
            "git_commit": self.git_commit,
            "versions": dict(self.versions),
            "experiment_path": _masked_url(self.experiment_path),
            "storage_path": _masked_url(self.storage_path),
            "reason": _masked_text(self.reason),
            "parent": self.parent,
            "gpu_kind": self.gpu_kind,
            "driver": {"host": self.driver_host, "pid": self.driver_pid, "job_id": self.job_id,
                       "job_address": _masked_url(self.job_address), "heartbeat": iso(self.heartbeat),
                       "lost": self.lost},
            "plan": self.plan,
            "spec_yaml": _masked_text(self.spec_yaml),
        }


@dataclass(frozen=True)
class ExploitRecord:
    """One PBT exploit: ``trial_id`` took ``from_trial``'s checkpoint and went on with mutated params.

    Attributes:
        trial_id: The trial that copied the checkpoint (it was in the bottom quantile).
        from_trial: The trial whose checkpoint it took (top quantile).
        from_step: ``from_trial``'s progress (the scheduler's time_attr) when its checkpoint was taken.
        at_step: ``trial_id``'s own progress when it gave up its weights.
        iteration: The first result ``trial_id`` reported from the copied checkpoint.
        recorded: When that result arrived.
    """

    trial_id: str
    from_trial: str
    from_step: float | None
    at_step: float | None
    iteration: int
    recorded: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "from_trial": self.from_trial, "from_step": self.from_step,
                "at_step": self.at_step, "iteration": self.iteration, "recorded": iso(self.recorded)}
