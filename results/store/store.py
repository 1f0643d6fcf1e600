"""``Store``: every sweep, trial and result in one SQLAlchemy database (SQLite by default)."""

from __future__ import annotations

import difflib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, case, func, select
from sqlalchemy.exc import IntegrityError

from hpo.results.errors import StoreError, SweepExistsError, SweepNotFoundError, TrialNotFoundError
from hpo.results.store.db import make_engine, mask, run_read, run_write, sqlite_file
from hpo.results.store.env import default_url, git_commit, resolve_home, versions
from hpo.results.store.migrations import prepare_schema
from hpo.results.store.records import (
    LINEAGE_KEY,
    ExploitRecord,
    SweepRecord,
    TrialRecord,
    checked_number,
    finite,
    from_epoch,
    loads,
    trial_from_row,
)
from hpo.results.store.removal import Removed, delete_sweep, delete_trials, set_replaced
from hpo.results.store.schema import (
    SWEEP_STATUSES,
    TRIAL_STATUSES,
    results_table,
    sweeps_table,
    trials_table,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Store"]

logger = logging.getLogger(__name__)

Scope = Literal["last", "all"]
_SPEC_FILE = "spec_file"  # the key in the versions JSON that holds where the spec was read from
_FINAL_STATUSES = ("finished", "failed", "interrupted")


class Store:
    """The results store: sweeps, their trials and every reported result.

    Open it with :meth:`Store.open`; it is safe to read while another process writes (SQLite
    runs in WAL mode), and writes from several processes queue on the database lock.
    """

    def __init__(self, engine: Engine, *, url: str, home: Path) -> None:
        self._engine = engine
        self._url = url
        self.home = home

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, url: str | None = None, *, home: str | os.PathLike[str] | None = None, create: bool = True
    ) -> Store:
        """Open the store, creating it when ``create`` (the default) and it does not exist.

        Args:
            url: Any SQLAlchemy URL. Default ``$HPO_STORE``, else ``sqlite:///<home>/store.sqlite``.
            home: Run home. Default ``$HPO_HOME``, else ``./runs``; reports go under it.
            create: False for readers: nothing is created (no folder, no file, no tables), and
                a store that does not exist is an error.

        Returns:
            The open store, its schema checked.

        Raises:
            StoreError: the URL is unusable, the store was written by a newer hpo, or (with
                ``create=False``) there is no store at the URL.
        """
        resolved_home = resolve_home(home)
        chosen = url if url else default_url(resolved_home)
        if not create:
            _check_exists(chosen, resolved_home, named=bool(url or os.environ.get("HPO_STORE")))
        store = cls(make_engine(chosen, create=create), url=chosen, home=resolved_home)
        store._prepare_schema(create=create)
        return store

    @property
    def url(self) -> str:
        """The full URL (may hold a password: never print it, print ``url_masked``)."""
        return self._url

    @property
    def url_masked(self) -> str:
        """The URL with any password replaced by ``***``."""
        return mask(self._engine.url)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file this store lives in, or None for a server database (PostgreSQL...)."""
        return sqlite_file(self._url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the callback's writer and for ad-hoc queries)."""
        return self._engine

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_masked!r})"

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # Engines do not pickle; a pickled store reopens by URL (Ray pickles callbacks).
        return (_reopen, (self._url, str(self.home)))

    def _prepare_schema(self, *, create: bool = True) -> None:
        try:
            prepare_schema(self._engine, shown=self.url_masked, create=create)
        except StoreError:
            self.close()
            raise

    # ---------------------------------------------------------------- sweeps
    def start_sweep(
        self,
        *,
        name: str,
        spec_yaml: str | None,
        spec_hash: str | None,
        metric: str,
        mode: str,
        experiment_path: str | None = None,
        max_t: int | None = None,
        resumed: bool = False,
        plan: dict[str, Any] | None = None,
        storage_path: str | None = None,
        parent: str | None = None,
        spec_file: dict[str, str] | None = None,
        gpu_kind: str | None = None,
    ) -> SweepRecord:
        """Create the sweep's row with status ``running``; on resume, set it running again.

        ``plan`` is the sweep's plan as plain data (what the dry run, the live view and the
        reports read); ``storage_path`` is Ray's storage for its trial directories; ``parent`` the
        sweep this one derives from (a confirmation's); ``spec_file`` the file the spec was read from,
        ``{"path": ..., "sha256": ...}`` of its text (``hpo resume`` says when it changed since), kept
        beside the versions from the sweep's first start on; ``gpu_kind`` whether the GPUs its trials ask
        for are real (``cuda``) or Ray's bookkeeping only (``logical``: ``cluster.num_gpus`` on a machine
        without them), None when unknown or none asked (a resume that cannot tell keeps the earlier value).

        Records the versions of hpo/ray/torch/python and the git commit of the working directory.

        Raises:
            SweepExistsError: the name is taken and ``resumed`` is False.
            ValueError: ``mode`` is not ``min`` or ``max``.
        """
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        now = time.time()
        found_versions = json.dumps({**versions(), **({_SPEC_FILE: dict(spec_file)} if spec_file else {})})
        commit = git_commit()
        plan_json = json.dumps(plan, separators=(",", ":"), default=str) if plan is not None else None

        def write(conn: Connection) -> None:
            row = conn.execute(select(sweeps_table.c.id).where(sweeps_table.c.name == name)).first()
            if row is not None and not resumed:
                raise SweepExistsError(
                    f"sweep {name!r} already exists in {self.url_masked}; pick another name (--name) "
                    f"or continue it with `hpo resume {name}`",
                    name=name,
                )
            if row is None:
                conn.execute(sweeps_table.insert().values(
                    name=name, status="running", spec_yaml=spec_yaml, spec_hash=spec_hash, metric=metric,
                    mode=mode, max_t=max_t, started=now, finished=None, versions=found_versions,
                    git_commit=commit, experiment_path=experiment_path, plan=plan_json, storage_path=storage_path,
                    parent=parent, gpu_kind=gpu_kind))
                return
            values: dict[str, Any] = {"status": "running", "finished": None, "reason": None}
            for key, value in (("experiment_path", experiment_path), ("max_t", max_t),
                               ("spec_yaml", spec_yaml), ("spec_hash", spec_hash), ("plan", plan_json),
                               ("storage_path", storage_path), ("parent", parent), ("gpu_kind", gpu_kind)):
                if value is not None:
                    values[key] = value
            conn.execute(sweeps_table.update().where(sweeps_table.c.id == row.id).values(values))

        try:
            run_write(self._engine, write, what=f"starting sweep {name!r}")
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # lost a race for the same name
                raise SweepExistsError(
                    f"sweep {name!r} already exists in {self.url_masked}; pick another name (--name)",
                    name=name) from exc
            raise
        return self.get_sweep(name)

    def finish_sweep(self, name: str, status: str, *, reason: str | None = None) -> SweepRecord:
        """Mark the sweep ``finished``, ``failed`` or ``interrupted`` and stamp its end time.

        ``reason`` (one line) says why a sweep failed or was ended; ``hpo ls`` and reports show it.

        Raises:
            SweepNotFoundError: no sweep of that name.
            ValueError: ``status`` is not one of the three.
        """
        if status not in _FINAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(_FINAL_STATUSES)}, got {status!r}")

        def write(conn: Connection) -> int:
            done = conn.execute(sweeps_table.update().where(sweeps_table.c.name == name).values(
                status=status, finished=time.time(), reason=reason))
            return done.rowcount

        if not run_write(self._engine, write, what=f"finishing sweep {name!r}"):
            raise self._not_found(name)
        return self.get_sweep(name)

    def set_driver(self, name: str, *, host: str, pid: int, job_id: str | None = None,
                   job_address: str | None = None) -> None:
        """Record the process that runs the sweep now (and the Ray Job holding it, and its server), heartbeat stamped.

        Raises:
            SweepNotFoundError: no sweep of that name.
        """
        def write(conn: Connection) -> int:
            return conn.execute(sweeps_table.update().where(sweeps_table.c.name == name).values(
                driver_host=host, driver_pid=pid, job_id=job_id, job_address=job_address,
                heartbeat=time.time())).rowcount

        if not run_write(self._engine, write, what=f"recording the driver of sweep {name!r}"):
            raise self._not_found(name)

    def heartbeat(self, name: str) -> None:
        """Stamp the sweep's heartbeat: its driver is alive now."""
        run_write(self._engine, lambda conn: conn.execute(sweeps_table.update().where(
            sweeps_table.c.name == name).values(heartbeat=time.time())), what=f"heartbeat of sweep {name!r}")

    def find_sweep(self, name: str) -> SweepRecord | None:
        """The sweep called ``name``, or None."""
        records = self._sweeps(name)
        return records[0] if records else None

    def get_sweep(self, name: str) -> SweepRecord:
        """The sweep called ``name``.

        Raises:
            SweepNotFoundError: no such sweep; the message lists close names.
        """
        found = self.find_sweep(name)
        if found is None:
            raise self._not_found(name)
        return found

    def sweeps(self) -> list[SweepRecord]:
        """Every sweep, most recently started first."""
        return self._sweeps(None)

    def children(self, parent: str) -> list[SweepRecord]:
        """The sweeps derived from ``parent`` (its confirmations), most recently started first."""
        return self._sweeps(None, parent=parent)

    def names(self) -> list[str]:
        """Every sweep's name, sorted."""
        return run_read(self._engine, lambda conn: sorted(
            conn.execute(select(sweeps_table.c.name)).scalars()), what="listing sweep names")

    def _not_found(self, name: str) -> SweepNotFoundError:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        close += [n for n in names if name.lower() in n.lower() and n not in close][: 5 - len(close)]
        where = f"no sweep named {name!r} in {self.url_masked}"
        if close:
            hint = f"close names: {', '.join(close)}"
        elif not names:
            hint = "the store has no sweeps yet"
        elif len(names) <= 5:
            hint = f"the store has: {', '.join(names)}"
        else:
            hint = f"the store has {len(names)} sweeps (`hpo ls` lists them)"
        return SweepNotFoundError(f"{where}; {hint}", name=name, close=close)

    def _sweeps(self, name: str | None, *, parent: str | None = None) -> list[SweepRecord]:
        def read(conn: Connection) -> list[SweepRecord]:
            query = select(sweeps_table).order_by(sweeps_table.c.started.desc(), sweeps_table.c.name)
            # A replaced row (an errored trial whose config ran again) is not one of the sweep's trials.
            counts_q = (select(trials_table.c.sweep_id, trials_table.c.status, func.count())
                        .where(trials_table.c.replaced_by.is_(None))
                        .group_by(trials_table.c.sweep_id, trials_table.c.status))
            wanted = [column == value for column, value in ((sweeps_table.c.name, name),
                                                            (sweeps_table.c.parent, parent)) if value is not None]
            if wanted:
                query = query.where(*wanted)
                counts_q = counts_q.join(sweeps_table, sweeps_table.c.id == trials_table.c.sweep_id).where(*wanted)
            rows = conn.execute(query).all()
            counts: dict[int, dict[str, int]] = {}
            for sweep_id, status, count in conn.execute(counts_q):
                counts.setdefault(sweep_id, dict.fromkeys(TRIAL_STATUSES, 0))[status] = count
            return [_sweep_record(row, counts.get(row.id, dict.fromkeys(TRIAL_STATUSES, 0))) for row in rows]

        return run_read(self._engine, read, what="reading sweeps")

    # ---------------------------------------------------------------- trials
    def trials(
        self, name: str, *, top: int | None = None, scope: Scope = "last", status: str | None = None,
        replaced: bool = False,
    ) -> list[TrialRecord]:
        """The sweep's trials, best first by the metric (mode respected), trials without one last.

        Args:
            name: Sweep name.
            top: Keep only the first ``top`` trials.
            scope: Order by the ``last`` reported value (Ray's default) or the best over ``all``.
            status: Keep only trials of this status.
            replaced: Also the errored trials that ``hpo resume --restart-errored`` ran again as new
                trials (their ``replaced_by`` names the new one). Left out by default, as they are from
                counts, ``best`` and reports: the sweep's trials are the ones that stood in for them.

        Raises:
            SweepNotFoundError: no such sweep.
        """
        _check_scope(scope)
        if top is not None and top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        if status is not None and status not in TRIAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TRIAL_STATUSES)}, got {status!r}")
        sweep = self.get_sweep(name)
        col = trials_table.c.best_metric if scope == "all" else trials_table.c.last_metric
        order = col.asc() if sweep.mode == "min" else col.desc()

        def read(conn: Connection) -> list[TrialRecord]:
            query = (select(trials_table).join(sweeps_table, sweeps_table.c.id == trials_table.c.sweep_id)
                     .where(sweeps_table.c.name == name)
                     .order_by(case((col.is_(None), 1), else_=0), order, trials_table.c.trial_id))
            if status is not None:
                query = query.where(trials_table.c.status == status)
            if not replaced:
                query = query.where(trials_table.c.replaced_by.is_(None))
            if top is not None:
                query = query.limit(top)
            return [trial_from_row(name, row) for row in conn.execute(query)]

        return run_read(self._engine, read, what=f"reading trials of {name!r}")

    def best(self, name: str, *, scope: Scope = "last") -> TrialRecord | None:
        """The best trial by the metric (``last`` value or best over ``all``), or None if none reported."""
        top = self.trials(name, top=1, scope=scope)
        if not top or top[0].metric(scope) is None:
            return None
        return top[0]

    def pareto(self, name: str) -> list[TrialRecord]:
        """The Pareto set of a sweep's trials over its objectives (the stored plan's ``objectives``).

        Each trial is judged on its last reported result. With one objective it is the best
        trial(s) by the last value.
        """
        from hpo.results.analysis.pareto import objectives_of, pareto_front

        return pareto_front(self.trials(name), objectives_of(self.get_sweep(name)))

    def counts(self, name: str) -> dict[str, int]:
        """Trials by status: ``running``, ``completed``, ``stopped_early``, ``error`` (all present); replaced
        trials (see :meth:`trials`) are not counted."""
        return dict(self.get_sweep(name).counts)

    def history(self, trial_id: str, *, sweep: str | None = None) -> pd.DataFrame:
        """Every result of one trial, by iteration: ``iteration``, ``time_total_s``, ``recorded``,
        then one column per reported metric.

        Raises:
            TrialNotFoundError: no trial with that id (in ``sweep``, when given).
        """
        def read(conn: Connection) -> tuple[list[Any], list[Any]]:
            trial_q = select(trials_table.c.id).where(trials_table.c.trial_id == trial_id)
            if sweep is not None:
                trial_q = trial_q.join(sweeps_table, sweeps_table.c.id == trials_table.c.sweep_id).where(
                    sweeps_table.c.name == sweep)
            pks = list(conn.execute(trial_q).scalars())
            rows = conn.execute(select(results_table).where(results_table.c.trial_pk.in_(pks))
                                .order_by(results_table.c.iteration)).all() if pks else []
            return pks, rows

        import pandas as pd  # imported on use: the CLI's table commands start faster without it

        pks, rows = run_read(self._engine, read, what=f"reading history of {trial_id!r}")
        where = f" in sweep {sweep!r}" if sweep else ""
        if not pks:
            raise TrialNotFoundError(f"no trial {trial_id!r}{where} in {self.url_masked}")
        if len(pks) > 1:
            raise TrialNotFoundError(f"trial id {trial_id!r} is in {len(pks)} sweeps; name the sweep (sweep=...)")
        records = []
        for row in rows:
            iteration, recorded = checked_number(row.iteration, int)[0], finite(row.recorded)
            if iteration is None:  # a row some other writer left without a usable iteration
                continue
            record: dict[str, Any] = {"iteration": iteration, "time_total_s": finite(row.time_total_s),
                                      "recorded": from_epoch(recorded)}
            metrics = loads(row.metrics, {})
            for key, value in (metrics.items() if isinstance(metrics, dict) else ()):
                record.setdefault(str(key), value)
            records.append(record)
        return pd.DataFrame.from_records(records, columns=None if records else
                                         ["iteration", "time_total_s", "recorded"])

    def lineage(self, name: str) -> list[ExploitRecord]:
        """Every PBT exploit of a sweep, oldest first ([] for other schedulers).

        The engine marks the first result a trial trained from another trial's checkpoint; this
        reads those marks back from the results (no table of their own).
        """
        self.get_sweep(name)
        marker = f'%"{LINEAGE_KEY}/from_trial"%'

        def read(conn: Connection) -> list[Any]:
            query = (select(trials_table.c.trial_id, results_table.c.iteration, results_table.c.metrics,
                            results_table.c.recorded)
                     .join(trials_table, trials_table.c.id == results_table.c.trial_pk)
                     .join(sweeps_table, sweeps_table.c.id == trials_table.c.sweep_id)
                     .where(sweeps_table.c.name == name, results_table.c.metrics.like(marker))
                     .order_by(results_table.c.recorded, results_table.c.iteration))
            return conn.execute(query).all()

        events = []
        for row in run_read(self._engine, read, what=f"reading lineage of {name!r}"):
            metrics = json.loads(row.metrics)
            source = metrics.get(f"{LINEAGE_KEY}/from_trial")
            if source is None:
                continue
            events.append(ExploitRecord(
                trial_id=row.trial_id, from_trial=str(source), from_step=metrics.get(f"{LINEAGE_KEY}/from_step"),
                at_step=metrics.get(f"{LINEAGE_KEY}/at_step"), iteration=row.iteration,
                recorded=from_epoch(row.recorded)))
        return events

    def results_frame(self, name: str, *, trial_ids: list[str] | None = None) -> pd.DataFrame:
        """Every result of a sweep in one frame: ``trial_id``, ``iteration``, ``time_total_s``,
        ``metric`` (the sweep's metric), ``recorded`` (epoch seconds). For plots and reports.

        Args:
            name: Sweep name.
            trial_ids: Only these trials' results (a big sweep's plotted sample); default every trial's
                but the replaced ones' (see :meth:`trials`).
        """
        sweep_id = self._sweep_id(name)

        def read(conn: Connection) -> list[Any]:
            query = (select(trials_table.c.trial_id, results_table.c.iteration, results_table.c.time_total_s,
                            results_table.c.metric_value.label("metric"), results_table.c.recorded)
                     .join(trials_table, trials_table.c.id == results_table.c.trial_pk)
                     .where(trials_table.c.sweep_id == sweep_id)
                     .order_by(results_table.c.recorded, trials_table.c.trial_id, results_table.c.iteration))
            if trial_ids is not None:
                query = query.where(trials_table.c.trial_id.in_(trial_ids))
            else:
                query = query.where(trials_table.c.replaced_by.is_(None))
            return conn.execute(query).all()

        import pandas as pd

        rows = run_read(self._engine, read, what=f"reading results of {name!r}")
        columns = ["trial_id", "iteration", "time_total_s", "metric", "recorded"]
        # Column lists, not row objects: pandas inspects each Row for its fields, seconds at 200,000 rows.
        frame = pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)) if rows else
                             [], columns=columns)
        numeric = columns[1:]
        if rows and any(frame[c].dtype == object for c in numeric):  # text where numbers belong: not a number
            for column in numeric:
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
            frame = frame.dropna(subset=["iteration", "recorded"]).reset_index(drop=True)
        return frame

    def trial_marks(self, name: str) -> list[tuple[str, float | None, float | None, float | None]]:
        """Per trial (replaced ones left out, see :meth:`trials`): ``(trial_id, best_metric, when its best result
        was recorded, when its last was)``, read through the results' (trial, iteration) index, so without
        reading every result."""
        sweep_id = self._sweep_id(name)
        best, last = results_table.alias("best"), results_table.alias("last")

        def read(conn: Connection) -> list[Any]:
            query = (select(trials_table.c.trial_id, trials_table.c.best_metric, best.c.recorded, last.c.recorded)
                     .outerjoin(best, (best.c.trial_pk == trials_table.c.id)
                                & (best.c.iteration == trials_table.c.best_iteration))
                     .outerjoin(last, (last.c.trial_pk == trials_table.c.id)
                                & (last.c.iteration == trials_table.c.iterations))
                     .where(trials_table.c.sweep_id == sweep_id, trials_table.c.replaced_by.is_(None)))
            return [(str(row[0]), *(finite(value) for value in row[1:])) for row in conn.execute(query)]

        return run_read(self._engine, read, what=f"reading the best results of {name!r}")

    # ---------------------------------------------------------------- replacing and removing
    def mark_replaced(self, name: str, replaced: dict[str, str]) -> int:
        """Mark errored trials as run again: ``replaced`` maps each one's id to the new trial's id.

        A replaced row stays (``trials(name, replaced=True)`` shows it) but is no longer one of the sweep's
        trials: counts, ``best``, listings and reports leave it out. Returns the rows marked.

        Raises:
            SweepNotFoundError: no such sweep.
        """
        sweep_id = self._sweep_id(name)
        return run_write(self._engine, lambda conn: set_replaced(conn, sweep_id, replaced),
                         what=f"marking replaced trials of {name!r}")

    def remove_sweep(self, name: str) -> Removed:
        """Remove the sweep ``name`` from the store: its row, every trial (replaced ones too) and every result,
        in one transaction. Ray's files are not the store's and stay (``hpo rm --files`` removes them).

        Whether the sweep may go (a running one may not) is the caller's question: ``hpo rm`` asks it.

        Raises:
            SweepNotFoundError: no such sweep.
        """
        sweep_id = self._sweep_id(name)
        return run_write(self._engine, lambda conn: delete_sweep(conn, sweep_id, name),
                         what=f"removing sweep {name!r}")

    def remove_trials(self, name: str, trial_ids: list[str]) -> Removed:
        """Remove some trials of sweep ``name`` with their results, in one transaction: all of them or none.

        An errored trial that one of them had replaced counts again.

        Raises:
            SweepNotFoundError: no such sweep.
            TrialNotFoundError: an id the sweep does not have (nothing is removed); the message names them.
            ValueError: no trial ids.
        """
        if not trial_ids:
            raise ValueError("remove_trials needs at least one trial id")
        sweep_id = self._sweep_id(name)
        removed, unknown = run_write(self._engine, lambda conn: delete_trials(conn, sweep_id, name, trial_ids),
                                     what=f"removing trials of {name!r}")
        if unknown:
            listed = ", ".join(repr(t) for t in unknown)
            raise TrialNotFoundError(f"sweep {name!r} has no trial {listed} (`hpo trials {name}` lists its trials); "
                                     "nothing removed")
        return removed

    def _sweep_id(self, name: str) -> int:
        def read(conn: Connection) -> int | None:
            return conn.execute(select(sweeps_table.c.id).where(sweeps_table.c.name == name)).scalar()

        found = run_read(self._engine, read, what=f"reading sweep {name!r}")
        if found is None:
            raise self._not_found(name)
        return int(found)


def _check_exists(url: str, home: Path, *, named: bool) -> None:
    """Refuse a SQLite store whose file is missing, before anything could create it."""
    path = sqlite_file(url)
    if path is None or path.is_file():
        return
    where = mask(url) if named else f"{path} (run home {home.expanduser().absolute()})"
    raise StoreError(f"no store at {where}; `hpo sweep` creates one")


def _reopen(url: str, home: str) -> Store:
    return Store.open(url, home=home)


def _check_scope(scope: str) -> None:
    if scope not in ("last", "all"):
        raise ValueError(f"scope must be 'last' or 'all', got {scope!r}")


def _sweep_record(row: Any, counts: dict[str, int]) -> SweepRecord:
    status = row.status if row.status in SWEEP_STATUSES else str(row.status)
    plan = loads(row.plan, None)
    found = loads(row.versions, {})
    found = found if isinstance(found, dict) else {}
    spec_file = found.pop(_SPEC_FILE, None)
    return SweepRecord(
        name=row.name, status=status, spec_yaml=row.spec_yaml, spec_hash=row.spec_hash, metric=row.metric,
        mode=row.mode, started=from_epoch(finite(row.started)),
        finished=from_epoch(finite(row.finished)),
        versions=found, git_commit=row.git_commit, experiment_path=row.experiment_path,
        counts=counts, max_t=checked_number(row.max_t, int)[0], plan=plan if isinstance(plan, dict) else None,
        storage_path=row.storage_path, reason=row.reason, driver_host=row.driver_host,
        driver_pid=checked_number(row.driver_pid, int)[0], job_id=row.job_id, job_address=row.job_address,
        heartbeat=from_epoch(finite(row.heartbeat)), parent=row.parent, gpu_kind=row.gpu_kind,
        spec_file=spec_file if isinstance(spec_file, dict) else None)
