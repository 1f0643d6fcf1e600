"""Run, resume and extend a sweep, top to bottom: spec -> plan -> checks -> Ray -> Tuner fitted -> sweep finished.

Everything that can reject the request (the name, the trainable's contract, the resources)
runs BEFORE Ray starts; only then is Ray started or joined, the trainable built, the sweep
row written (with its plan) and the Tuner fitted. The plan (``hpo.search.engine.planning``) is
what the store, the progress view and the reports read; the Tuner's construction and fit are
``hpo.search.engine.tuner``'s, the store's name rules ``hpo.search.engine.store``'s.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any

from hpo.results import Store, TrialRecord, mask_url
from hpo.search.cluster import local as cluster
from hpo.search.cluster import storage
from hpo.search.engine.callbacks import (
    CALLBACK_KEY,
    LiveCallbacks,
    SweepEnded,
    TrialTracker,
    bind,
    keep_trial_files,
    unbind,
)
from hpo.search.engine.checks import check_spec, import_paths, with_name_clash, with_stored_name_clash
from hpo.search.engine.driver import Heartbeat, check_not_running
from hpo.search.engine.planning import plan_sweep
from hpo.search.engine.restarts import RestartLedger
from hpo.search.engine.spec_source import changed_spec_note, recorded_spec_dir, spec_file_record
from hpo.search.engine.store import check_name_free, extension_uris, open_store, spec_of, storage_of
from hpo.search.engine.tuner import SweepRun, build_tuner, fit_restored, fit_tuner, ray_client
from hpo.search.engine.warm_start import evaluated_points, warm_start_points
from hpo.search.errors import MetricNotReportedError, SweepInputError
from hpo.search.tracking import trackers as tracking
from hpo.spaces import SpecError, SweepPlan, SweepSpec

__all__ = ["SweepOutcome", "extend_sweep", "resume_sweep", "run_sweep"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep ended with.

    Attributes:
        name: Sweep name (key in the store).
        status: ``finished``, ``failed`` (every trial errored) or ``interrupted``.
        best: The best trial as the store recorded it, or None.
        counts: Trials by status (running/completed/stopped_early/error), from the store.
        experiment_path: Ray's experiment directory (trial dirs, checkpoints, TensorBoard events), as
            given, credentials included: show it through ``results.mask_url``.
        store_url: The store's URL, its secrets masked (``results.mask_url``).
        first_error: The first errored trial's error text (traceback), if any trial errored.
        plan: The plan the sweep ran with.
        reason: Why the sweep failed when no trial error explains it (one line), e.g. it stalled
            because no trial could be placed, or its first trials all failed alike; None otherwise.
        ended_by: What ended a failed sweep before its trials did, in the CLI's words (``stalled``,
            ``failed fast``: the ``verb`` of the ``SweepEnded`` raised); None otherwise.
    """

    name: str
    status: str
    best: TrialRecord | None
    counts: dict[str, int] = field(default_factory=dict)
    experiment_path: str = ""
    store_url: str = ""
    first_error: str | None = None
    plan: SweepPlan | None = None
    reason: str | None = None
    ended_by: str | None = None

    @property
    def exit_code(self) -> int:
        """0 finished, 1 failed, 130 interrupted (the CLI's exit codes)."""
        return {"finished": 0, "failed": 1, "interrupted": 130}.get(self.status, 1)

    @property
    def metric(self) -> str | None:
        """The metric the sweep optimised (the first objective of several), from its plan."""
        return self.plan.metric if self.plan is not None else None


# --------------------------------------------------------------------------- entry points
def run_sweep(
    spec: SweepSpec | dict[str, Any] | str | os.PathLike[str],
    *,
    trainable: Any = None,
    home: str | os.PathLike[str] | None = None,
    store: Store | str | None = None,
    progress: Any = None,
    verbose: bool = False,
    spec_dir: str | os.PathLike[str] | None = None,
) -> SweepOutcome:
    """Run a sweep to the end (or to Ctrl-C) on a local Ray instance or a cluster.

    Joins a Ray instance already initialised in this process; otherwise starts one sized by
    ``spec.cluster`` (or connects to ``cluster.address``) and shuts it down afterwards.

    Args:
        spec: A validated ``spaces.SweepSpec``; or a dict with a spec file's keys, or the path of a
            YAML spec file (or a built-in spec's name), validated first as ``parse_spec`` / ``load_spec`` do.
        trainable: Any Ray Tune function trainable or Trainable class, used unchanged;
            default: the spec's ``trainable`` through the registry or ``pkg.mod:fn``.
        home: Run home (default ``$HPO_HOME`` or ``./runs``); Ray's storage is ``<home>/ray``.
        store: A ``results.Store`` or a store URL (default the SQLite file in the home).
        progress: ``"auto"`` (default; live view on a TTY, else plain lines), ``"live"``,
            ``"plain"``, ``"none"``, or a ``hpo.search.engine.progress.ProgressView``.
        verbose: Let Ray's worker output reach the console when this call starts Ray.
        spec_dir: Where a command trainable's program, ``cwd`` and ``{spec_dir}`` resolve; default: the
            spec file's folder, or the working folder for a spec given as data.

    Returns:
        The :class:`SweepOutcome`; ``status`` is ``failed`` when every trial errored and
        ``interrupted`` after Ctrl-C (continue with :func:`resume_sweep`).

    Raises:
        hpo_errors.InputError: bad input, before Ray starts: a spec with problems of its own or
            against the trainable's contract (``SpecError``; when the name is taken too, its clash is
            the last of the problems), a name already in the store (``SweepExistsError``),
            resources no node has (``ResourceError``); or, at run time, a trainable that
            declares nothing and reports no ``metric`` (``MetricNotReportedError``).
    """
    from hpo.spaces.spec_input import as_spec

    # The spec's own problems come first, and a name the store already holds is reported with them
    # (one error): a typo is not hidden behind the name clash until a run under another --name.
    try:
        spec = as_spec(spec)  # a notebook's dict or a file's path: checked as `hpo sweep` checks a file
    except SpecError as exc:
        raise with_stored_name_clash(exc, home=home, store=store) from None
    home_path = cluster.prepare_home(home)
    store_obj = open_store(store, home_path)
    where = storage.resolve_storage(spec.storage, home_path)
    plan = plan_sweep(spec)
    experiment = storage.experiment_uri(where, spec.name)
    try:
        spec_dir = _command_dir(spec, spec_dir)
        resolved = _checked_trainable(spec, trainable, spec_dir=spec_dir)  # the spec against its contract...
    except SpecError as exc:
        raise with_name_clash(exc, store=store_obj, name=spec.name, experiment_path=experiment) from None
    check_name_free(store_obj, spec.name, experiment)  # ...then its name
    evaluated = warm_start_points(spec, store_obj)
    run = SweepRun(spec=spec, plan=plan, store=store_obj, storage=where, home=home_path, trainable=resolved,
                  from_spec=trainable is None, evaluated=evaluated, spec_dir=spec_dir)
    return _execute(run, progress=progress, verbose=verbose)


def resume_sweep(
    name: str,
    *,
    home: str | os.PathLike[str] | None = None,
    store: Store | str | None = None,
    restart_errored: bool = False,
    trainable: Any = None,
    progress: Any = None,
    verbose: bool = False,
) -> SweepOutcome:
    """Continue an interrupted (or killed, or failed) sweep with ``Tuner.restore``.

    The spec is re-read from the store, and so is Ray's storage; unfinished trials resume from
    their last checkpoints; errored ones resume from theirs, or restart from scratch with
    ``restart_errored=True``: each restarted trial replaces its errored row (which stays, marked
    ``replaced_by``, but is not counted), so the sweep still ends with its ``num_samples`` trials.
    Works after the driver was killed with SIGKILL. When the file the spec was read from has changed
    since the sweep started, one warning line says that the stored spec runs, and how to run the file.

    Args:
        name: The sweep's name in the store.
        home: Run home, as for :func:`run_sweep` (where the store is by default).
        store: A ``results.Store`` or URL, as for :func:`run_sweep`.
        restart_errored: Restart errored trials from scratch instead of their checkpoint.
        trainable: The trainable, when the sweep ran with a ``trainable=`` object.
        progress: As for :func:`run_sweep`.
        verbose: As for :func:`run_sweep`.

    Raises:
        results.SweepNotFoundError: No sweep of that name in the store.
        SweepInputError: The sweep already finished, or its Ray state is missing.
    """
    from ray import tune

    home_path = cluster.prepare_home(home)
    store_obj = open_store(store, home_path)
    record = store_obj.get_sweep(name)
    if record.status == "finished":
        raise SweepInputError(f"sweep {name!r} already finished; nothing to resume "
                              f"(`hpo extend {name} --samples N` adds trials)")
    check_not_running(record)
    where = storage_of(record, home_path)
    # An extended sweep's latest experiment is <name>-ext<k>: the row records which.
    experiment = record.experiment_path.rstrip("/").rsplit("/", 1)[-1] if record.experiment_path else name
    if not tune.Tuner.can_restore(storage.experiment_uri(where, experiment)):
        raise SweepInputError(f"sweep {name!r}: no Ray Tune state to resume in "
                              f"{mask_url(storage.experiment_uri(where, experiment))}")
    if not storage.is_uri(where):  # command scripts a killed driver's trials left, before they start again
        from hpo.search.cluster.orphans import reap_command_leftovers

        reap_command_leftovers(storage.experiment_uri(where.removeprefix("file://"), experiment))
    spec = spec_of(record)
    plan = plan_sweep(spec)
    resolved = _checked_trainable(spec, trainable, spec_dir=_command_dir(spec, recorded_spec_dir(record)))
    if (note := changed_spec_note(record)) is not None:
        logger.warning("%s", note)
    restore = {"resume_unfinished": True, "resume_errored": not restart_errored, "restart_errored": restart_errored}
    run = SweepRun(spec=spec, plan=plan, store=store_obj, storage=where, home=home_path, trainable=resolved,
                  from_spec=trainable is None, restore=restore, experiment_name=experiment)
    return _execute(run, progress=progress, verbose=verbose)


def extend_sweep(
    name: str,
    *,
    samples: int,
    home: str | os.PathLike[str] | None = None,
    store: Store | str | None = None,
    trainable: Any = None,
    progress: Any = None,
    verbose: bool = False,
) -> SweepOutcome:
    """Add ``samples`` trials to a finished sweep, in the same store rows.

    The spec is re-read from the store; a fresh Tuner (Ray experiment ``<name>-ext<k>`` beside the
    first) runs the new trials, and the sweep's row goes running, then finished again. Optuna and
    HyperOpt are seeded with every earlier trial's config and result from the store (not Ray's pickled searcher
    state, so a sweep stays extendable across Ray upgrades); random search draws new configs with
    the seed moved on. The earlier rows are left as they are.

    Args:
        name: The sweep's name in the store.
        samples: Trials to add (>= 1).
        home: Run home, as for :func:`run_sweep`.
        store: A ``results.Store`` or URL, as for :func:`run_sweep`.
        trainable: The trainable, when the sweep ran with a ``trainable=`` object.
        progress: As for :func:`run_sweep`.
        verbose: As for :func:`run_sweep`.

    Raises:
        results.SweepNotFoundError: No sweep of that name in the store.
        SweepInputError: ``samples`` < 1, the sweep is still running or was interrupted, or it is a
            grid search.
    """
    if samples < 1:
        raise SweepInputError(f"extend {name}: --samples must be >= 1, got {samples}")
    home_path = cluster.prepare_home(home)
    store_obj = open_store(store, home_path)
    record = store_obj.get_sweep(name)
    check_not_running(record)
    if record.status == "running":
        raise SweepInputError(f"sweep {name!r} is still running; extend it once it has finished")
    if record.status == "interrupted":
        raise SweepInputError(f"sweep {name!r} was interrupted; finish it with `hpo resume {name}` before extending it")
    first = spec_of(record)
    if first.search.algorithm == "grid":
        raise SweepInputError(f"sweep {name!r} is a grid search and ran every combination; "
                              "extend needs algorithm: optuna, hyperopt or random")
    earlier = store_obj.trials(name)
    search = first.search.model_copy(update={"num_samples": samples, "seed": (first.search.seed or 0) + len(earlier),
                                             "points_to_evaluate": [], "warm_start": None})
    spec = first.model_copy(update={"search": search})
    plan = plan_sweep(spec)
    resolved = _checked_trainable(spec, trainable, spec_dir=_command_dir(spec, recorded_spec_dir(record)))
    evaluated = None
    if spec.search.algorithm in ("optuna", "hyperopt"):  # model-based: they learn from every earlier result
        evaluated = evaluated_points(spec, store_obj, sweep=name)
        logger.warning("%s", evaluated.summary(what="extend"))
    where = storage_of(record, home_path)
    k = len(extension_uris(where, name)) + 1
    before = SweepPlan.from_dict(record.plan) if record.plan else None
    extension = replace(plan, trials=plan.trials + (before.trials if before else len(earlier)),
                        budget_full=plan.budget_full + (before.budget_full if before else 0),
                        budget_expected=plan.budget_expected + (before.budget_expected if before else 0))
    run = SweepRun(spec=spec, plan=plan, store=store_obj, storage=where, home=home_path, trainable=resolved,
                  from_spec=trainable is None, evaluated=evaluated, experiment_name=f"{name}-ext{k}",
                  extension=extension)
    return _execute(run, progress=progress, verbose=verbose)


# --------------------------------------------------------------------------- checks (no Ray)
def _checked_trainable(spec: SweepSpec, trainable: Any, *, spec_dir: str | os.PathLike[str] | None = None) -> Any:
    """The checks every entry point makes before Ray starts, then the trainable to run: the spec
    against the trainable's contract, the resources against what is known of the capacity, and the
    trackers' packages and credentials. ``spec_dir``: where a command's program resolves (default: the
    spec file's folder; a resume's is the one recorded as the sweep started)."""
    check_spec(spec, trainable=trainable, spec_dir=spec_dir)
    resolved = _resolve_trainable(spec, trainable, spec_dir=spec_dir)
    cluster.check_planned_resources(spec)
    tracking.check_trackers(spec)
    return resolved


def _command_dir(spec: SweepSpec, given: str | os.PathLike[str] | None) -> str | None:
    """Where a command trainable's program, ``cwd`` and ``{spec_dir}`` resolve (``given``: a folder the caller
    knows, such as a resume's recorded one), by the one rule, ``spec_dir_of``; None for any other trainable."""
    if spec.command is None:
        return None
    from hpo.trainables.command.checks import spec_dir_of

    return str(spec_dir_of(spec, given=given))


def _resolve_trainable(spec: SweepSpec, trainable: Any, *, spec_dir: str | os.PathLike[str] | None = None) -> Any:
    if trainable is not None:
        return trainable
    if spec.command is not None:  # trainable: {command: ...}: a script run once per trial
        from hpo.search.engine.trainable_glue import resolve_command

        return resolve_command(spec, spec_dir=_command_dir(spec, spec_dir))
    from hpo import trainables

    with import_paths(spec):
        return trainables.resolve(spec.trainable)


# --------------------------------------------------------------------------- with Ray
def _execute(run: SweepRun, *, progress: Any, verbose: bool) -> SweepOutcome:
    from hpo.search.engine import stall, trial_limits
    from hpo.search.engine.fail_fast import FailFast, config_sections
    from hpo.search.engine.trainable_glue import prepare_trainable
    from hpo.trainables.shared import SharedScope

    stall_timeout = stall.stall_timeout()
    started = cluster.ensure_ray(run.spec, verbose=verbose, home=run.home)
    status, reason, ended_by, grid, registered, plan = "failed", None, None, None, False, run.plan
    tracker = TrialTracker()
    live: list[Any] = []
    shared = SharedScope()  # what the prepare hook put in the object store, freed when the sweep ends
    try:
        capacity = cluster.joined_capacity()
        cluster.check_resources(run.spec, capacity)
        storage.check_store_reachable(run.store.url, sqlite_path=run.store.sqlite_path, client=ray_client())
        if len(capacity.nodes) > 1 or storage.is_uri(run.storage):
            storage.probe_nodes(run.storage)
        plan = run.plan.with_concurrency(run.plan.concurrency or cluster.concurrency_slots(run.spec, capacity))
        with shared.collect():
            runnable = prepare_trainable(run.spec, run.trainable, from_spec=run.from_spec, storage=str(run.storage))
        live = _live_callbacks(plan, run.store, progress, tracker)
        if run.restore is not None:  # a trial run again under a new id replaces its stored row
            live.append(RestartLedger(run.store, sweep=run.spec.name))
        live += tracking.tracker_callbacks(run.spec, plan)  # after the store's: it has each result first
        if (limits := trial_limits.limits_for(run.spec.failures)) is not None:  # ends a hung trial, Tune retries it
            live.append(limits)
        if run.spec.failures.fail_fast:  # near last, as the stall watch: both may end the sweep
            live.append(FailFast(planned=plan.trials, sections=config_sections(run.spec)))
        if stall_timeout is not None:  # last: the others see each step before it may end the sweep
            live.append(stall.StallWatch(name=run.spec.name, timeout_s=stall_timeout))
        extending = run.extension is not None  # the sweep's row keeps its spec; its plan counts every trial
        run.store.start_sweep(
            name=run.spec.name, spec_yaml=None if extending else run.spec.to_yaml(),
            spec_hash=None if extending else run.spec.spec_hash(), metric=plan.metric,
            mode=plan.mode, experiment_path=str(run.experiment_path), max_t=run.spec.scheduler.max_t,
            resumed=run.restore is not None or extending,
            plan=(run.extension.with_concurrency(plan.concurrency) if run.extension and plan.concurrency
                  else run.extension or plan).to_dict(),
            storage_path=run.storage, parent=run.spec.confirm.sweep if run.spec.confirm else None,
            spec_file=spec_file_record(run.spec, spec_dir=run.spec_dir), gpu_kind=started.gpu_kind)
        registered = True
        bind(CALLBACK_KEY, live)
        with Heartbeat(run.store, run.spec.name):
            try:
                if run.restore is not None:
                    status, grid = fit_restored(run, runnable, tracker)
                else:
                    status, grid = fit_tuner(build_tuner(run, plan, runnable, callbacks=_tune_callbacks(run, plan)),
                                             tracker)
            except SweepEnded as exc:  # a watch ended it: stalled, or its first trials failed alike
                reason, ended_by = str(exc), exc.verb
                keep_trial_files(tracker.trials)  # Tune's last upload of them was skipped
    except MetricNotReportedError as exc:
        reason = str(exc)
        raise
    finally:
        shared.release()
        unbind(CALLBACK_KEY)
        for item in live:
            for hook in ("flush", "close"):
                if callable(getattr(item, hook, None)):
                    getattr(item, hook)()
        if registered:
            run.store.finish_sweep(run.spec.name, status, reason=reason)
        if started:
            import ray

            ray.shutdown()
    first_error = _first_error(run.store, run.spec.name, grid) if tracker.errored() or status == "failed" else None
    return SweepOutcome(
        name=run.spec.name, status=status, best=run.store.best(run.spec.name),
        counts=dict(run.store.counts(run.spec.name)), experiment_path=str(run.experiment_path),
        store_url=run.store.url_masked, first_error=first_error, plan=plan, reason=reason, ended_by=ended_by)


def _live_callbacks(plan: SweepPlan, store: Store, progress: Any, tracker: TrialTracker) -> list[Any]:
    """The driver-side callbacks, all configured from the plan: the store's, the tracker, the view."""
    from hpo.results import StoreCallback
    from hpo.search.engine.progress import ProgressView, resolve_mode
    from hpo.search.engine.trial_limits import timeout_reason
    from hpo.search.ray_compat.cluster import trial_node_id

    live: list[Any] = [
        StoreCallback(store, sweep=plan.name, metric=plan.metric, mode=plan.mode,
                      max_t=plan.stop_cap, time_attr=plan.time_attr,
                      stop=plan.stop, node_of=trial_node_id, error_of=timeout_reason),
        tracker,
    ]
    if isinstance(progress, ProgressView):
        live.append(progress)
    elif (mode := resolve_mode(progress)) != "none":
        live.append(ProgressView(plan, mode_view=mode))
    return live


def _tune_callbacks(run: SweepRun, plan: SweepPlan) -> list[Any]:
    """What Tune calls back: the proxy to the driver-side callbacks bound under ``CALLBACK_KEY``."""
    if ray_client():
        # Through Ray Client the callbacks run on the cluster, where nothing is bound to the
        # proxy's key: pass the (picklable, reopened-by-URL) store callback itself instead.
        logger.warning("connected through Ray Client: no live progress view; results reach the store only if "
                       "%s is reachable from the cluster", run.store.url_masked)
        from hpo.search.engine.trial_limits import limits_for

        limits = limits_for(run.spec.failures)  # picklable too: the time limits hold on the cluster's side
        return [_live_callbacks(plan, run.store, "none", TrialTracker())[0], *([limits] if limits else [])]
    return [LiveCallbacks(CALLBACK_KEY)]


def _first_error(store: Store, name: str, grid: Any) -> str | None:
    try:
        for rec in store.trials(name):
            if rec.error:
                return str(rec.error)
    except Exception:  # the store is the record; the grid is only a fallback
        logger.debug("could not read errors from the store", exc_info=True)
    if grid is not None:
        for err in grid.errors:
            return str(err)
    return None
