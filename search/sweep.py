"""run_sweep / resume_sweep: a validated spec in, a finished (or resumable) Ray Tune run out.

Order matters: everything that can reject the request (store name clash, unknown
trainable, impossible resources) runs BEFORE Ray starts; only then is Ray started or
joined, the trainable built, the sweep row written and the Tuner fitted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search import cluster, tuning
from search.errors import SweepExistsError, SweepInputError

__all__ = ["SweepOutcome", "resume_sweep", "run_sweep"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep ended with.

    Attributes:
        name: Sweep name (key in the store).
        status: ``finished``, ``failed`` (every trial errored) or ``interrupted``.
        best: The best trial as the store recorded it, or None.
        counts: Trials by status (running/completed/stopped_early/error), from the store.
        experiment_path: Ray's experiment directory (trial dirs, checkpoints, TensorBoard events).
        store_url: The store's URL, password masked.
        first_error: The first errored trial's error text (traceback), if any trial errored.
        reason: Why the sweep failed when no trial error explains it (one line), e.g. it stalled
            because no trial could be placed; None otherwise.
    """

    name: str
    status: str
    best: Any
    counts: dict[str, int] = field(default_factory=dict)
    experiment_path: str = ""
    store_url: str = ""
    first_error: str | None = None
    reason: str | None = None

    @property
    def exit_code(self) -> int:
        """0 finished, 1 failed, 130 interrupted (the CLI's exit codes)."""
        return {"finished": 0, "failed": 1, "interrupted": 130}.get(self.status, 1)


def _open_store(store: Any, home: Path) -> Any:
    from results import Store

    if store is None or isinstance(store, str):
        return Store.open(store, home=home)
    return store


def _check_name_free(store: Any, name: str, experiment_path: Path) -> None:
    existing = store.find_sweep(name)
    if existing is not None and existing.status != "finished":
        raise SweepExistsError(
            f"sweep {name!r} exists unfinished in the store (status {existing.status}); "
            f"continue it with `hpo resume {name}` or start a new one with --name NEW_NAME"
        )
    if existing is not None:
        raise SweepExistsError(
            f"sweep {name!r} already finished in the store; choose another name with --name NEW_NAME"
        )
    if experiment_path.exists():
        raise SweepExistsError(
            f"sweep {name!r}: experiment directory {experiment_path} already exists; "
            f"choose another name with --name NEW_NAME"
        )


def _spec_from_record(record: Any) -> Any:
    import yaml

    import spaces

    return spaces.parse_spec(yaml.safe_load(record.spec_yaml), source=f"store:{record.name}")


def _check_resources_before_ray(spec: Any) -> None:
    capacity = cluster.planned_capacity(spec)
    if capacity is not None:
        cluster.check_resources(spec, capacity)


def _start_ray(spec: Any, *, verbose: bool) -> bool:
    started = cluster.ensure_ray(spec, verbose=verbose)
    try:
        cluster.check_resources(spec, cluster.joined_capacity())
    except Exception:
        if started:
            import ray

            ray.shutdown()
        raise
    return started


def _execute(
    spec: Any,
    *,
    store: Any,
    home: Path,
    trainable: Any,
    from_spec: bool,
    progress: Any,
    verbose: bool,
    resume: dict[str, Any] | None,
) -> SweepOutcome:
    from ray import tune

    from search import callbacks as cb
    from search import stall
    from search.schedulers import make_scheduler
    from search.searchers import make_searcher, param_space
    from search.trainable_glue import checkpoint_frequency_for, prepare_trainable, reuse_actors_for

    experiment_path = home / "ray" / spec.name
    stall_timeout = stall.stall_timeout()
    started = _start_ray(spec, verbose=verbose)
    tracker = cb.TrialTracker()
    live = tuning.callbacks_for(spec, store, progress, tracker)
    if stall_timeout is not None:  # last: the others see each step before it may end the sweep
        live.append(stall.StallWatch(name=spec.name, timeout_s=stall_timeout))
    status, grid, registered, reason = "failed", None, False, None
    try:
        runnable = prepare_trainable(spec, trainable, from_spec=from_spec)
        space = param_space(spec)
        store.start_sweep(
            name=spec.name,
            spec_yaml=spec.to_yaml(),
            spec_hash=spec.spec_hash(),
            metric=spec.metric,
            mode=spec.mode,
            experiment_path=str(experiment_path),
            max_t=spec.scheduler.max_t,
            resumed=resume is not None,
        )
        registered = True
        cb.bind(tuning.CALLBACK_KEY, live)
        remote = None
        if tuning.ray_client():
            logger.warning(
                "connected through Ray Client: no live progress view; results reach the store "
                "only if %s is reachable from the cluster",
                store.url_masked,
            )
            remote = [live[0]]
        if resume is None:
            tuner = tune.Tuner(
                runnable,
                param_space=space,
                tune_config=tune.TuneConfig(
                    metric=spec.metric,
                    mode=spec.mode,
                    search_alg=make_searcher(spec, max_concurrent=tuning.max_concurrent(spec)),
                    scheduler=make_scheduler(spec),
                    num_samples=spec.search.num_samples,
                    reuse_actors=reuse_actors_for(runnable),
                    trial_dirname_creator=tuning.trial_dirname,
                ),
                run_config=tuning.run_config(
                    spec, home, remote_callbacks=remote, checkpoint_frequency=checkpoint_frequency_for(runnable)
                ),
            )
        else:
            tuner = tune.Tuner.restore(str(experiment_path), trainable=runnable, param_space=space, **resume)
        try:
            status, grid = tuning.fit(tuner, tracker)
        except stall.SweepStalled as exc:
            reason = str(exc)
    finally:
        cb.unbind(tuning.CALLBACK_KEY)
        for item in live:
            for hook in ("flush", "close"):
                if callable(getattr(item, hook, None)):
                    getattr(item, hook)()
        if registered:
            store.finish_sweep(spec.name, status)
        if started:
            import ray

            ray.shutdown()
    first_error = tuning.first_error(store, spec.name, grid) if tracker.errored() or status == "failed" else None
    return SweepOutcome(
        name=spec.name,
        status=status,
        best=store.best(spec.name),
        counts=dict(store.counts(spec.name)),
        experiment_path=str(experiment_path),
        store_url=store.url_masked,
        first_error=first_error,
        reason=reason,
    )


def run_sweep(
    spec: Any,
    *,
    trainable: Any = None,
    home: str | os.PathLike[str] | None = None,
    store: Any = None,
    progress: Any = None,
    verbose: bool = False,
) -> SweepOutcome:
    """Run a sweep to the end (or to Ctrl-C) on a local Ray instance or a cluster.

    Joins a Ray instance already initialised in this process; otherwise starts one sized by
    ``spec.cluster`` (or connects to ``cluster.address``) and shuts it down afterwards.

    Args:
        spec: A validated ``spaces.SweepSpec``.
        trainable: Any Ray Tune function trainable or Trainable class, used unchanged;
            default: the spec's ``trainable`` through the registry or ``pkg.mod:fn``.
        home: Run home (default ``$HPO_HOME`` or ``./runs``); Ray's storage is ``<home>/ray``.
        store: A ``results.Store`` or a store URL (default the SQLite file in the home).
        progress: ``"auto"`` (default; live view on a TTY, else plain lines), ``"live"``,
            ``"plain"``, ``"none"``, or a ``search.progress.ProgressView``.
        verbose: Let Ray's worker output reach the console when this call starts Ray.

    Returns:
        The :class:`SweepOutcome`; ``status`` is ``failed`` when every trial errored and
        ``interrupted`` after Ctrl-C (continue with :func:`resume_sweep`).

    Raises:
        SweepExistsError: The name is already in the store (or its Ray directory exists).
        trainables.TrainableNotFoundError: The spec's trainable does not resolve.
        ResourceError: No node could ever hold one trial.
    """
    home_path = cluster.resolve_home(home)
    store_obj = _open_store(store, home_path)
    _check_name_free(store_obj, spec.name, home_path / "ray" / spec.name)
    from_spec = trainable is None
    from search.trainable_glue import resolve_trainable

    resolved = resolve_trainable(spec, trainable)
    _check_resources_before_ray(spec)
    return _execute(
        spec,
        store=store_obj,
        home=home_path,
        trainable=resolved,
        from_spec=from_spec,
        progress=progress,
        verbose=verbose,
        resume=None,
    )


def resume_sweep(
    name: str,
    *,
    home: str | os.PathLike[str] | None = None,
    store: Any = None,
    restart_errored: bool = False,
    trainable: Any = None,
    progress: Any = None,
    verbose: bool = False,
) -> SweepOutcome:
    """Continue an interrupted (or killed, or failed) sweep with ``Tuner.restore``.

    The spec is re-read from the store; unfinished trials resume from their last
    checkpoints; errored ones resume from theirs, or restart from scratch with
    ``restart_errored=True``. Works after the driver was killed with SIGKILL.

    Args:
        name: The sweep's name in the store.
        home: Run home, as for :func:`run_sweep`.
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

    from search.trainable_glue import resolve_trainable

    home_path = cluster.resolve_home(home)
    store_obj = _open_store(store, home_path)
    record = store_obj.get_sweep(name)
    if record.status == "finished":
        raise SweepInputError(f"sweep {name!r} already finished; nothing to resume")
    path = record.experiment_path or str(home_path / "ray" / name)
    if not tune.Tuner.can_restore(path):
        raise SweepInputError(f"sweep {name!r}: no Ray Tune state to resume in {path}")
    spec = _spec_from_record(record)
    resolved = resolve_trainable(spec, trainable)
    _check_resources_before_ray(spec)
    exp_home = Path(path).parent.parent
    return _execute(
        spec,
        store=store_obj,
        home=exp_home,
        trainable=resolved,
        from_spec=trainable is None,
        progress=progress,
        verbose=verbose,
        resume={
            "resume_unfinished": True,
            "resume_errored": not restart_errored,
            "restart_errored": restart_errored,
        },
    )
