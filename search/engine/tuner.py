"""The Tuner: built from the spec and its plan (or restored from Ray's saved state), then fitted.

``hpo.search.engine.sweep`` decides what runs (a new sweep, a resume, an extension) and owns the
sweep's row and its driver-side callbacks; this module turns one :class:`SweepRun` into a
``tune.Tuner`` (searcher, scheduler, stopper, checkpoint retention, trial folders) and fits it,
mapping how the fit ended to the sweep's status.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.results import Store
from hpo.search.cluster import storage
from hpo.search.engine.callbacks import CALLBACK_KEY, PlanStopper, TrialTracker
from hpo.search.engine.environ import set_env
from hpo.search.engine.retention import CheckpointRetention
from hpo.spaces import SweepPlan, SweepSpec

_PBT_REUSE_ADVICE = "Consider boosting PBT performance by enabling `reuse_actors`"  # ray/tune/tune.py, Ray 2.60

__all__ = [
    "CHECKPOINTS_KEPT",
    "CHECKPOINTS_KEPT_EXPLOITING",
    "SweepRun",
    "build_tuner",
    "fit_restored",
    "fit_tuner",
    "ray_client",
    "restore_tuner",
    "trial_dirname",
]

CHECKPOINTS_KEPT = 2  # the latest, and one more for the best-so-far
# PBT/PB2: a top trial's checkpoint must outlive its next reports until a bottom trial copies it.
CHECKPOINTS_KEPT_EXPLOITING = 4


@dataclass(frozen=True)
class SweepRun:
    """One fit of one sweep: what every step after the checks needs."""

    spec: SweepSpec
    plan: SweepPlan
    store: Store
    storage: str  # Ray's storage_path (a path or a URI such as s3://bucket/prefix)
    home: Path  # the run home (the local Ray's process records live under it)
    trainable: Any
    from_spec: bool
    restore: dict[str, Any] | None = None  # Tuner.restore's options when resuming
    evaluated: Any = None  # hpo.search.engine.warm_start.EvaluatedPoints seeding the searcher, if any
    experiment_name: str | None = None  # Ray's experiment directory name; default the sweep's name
    extension: SweepPlan | None = None  # extend: the sweep's plan with the added trials (the store keeps it)
    spec_dir: str | None = None  # a command's folder when not the spec file's (a resume's: the one recorded)

    @property
    def experiment_path(self) -> str:
        return storage.experiment_uri(self.storage, self.experiment_name or self.spec.name)


def restore_tuner(run: SweepRun, runnable: Any) -> Any:
    """The Tuner of an interrupted sweep, from Ray's saved state (``run.restore`` holds ``Tuner.restore``'s options).

    Its searcher, scheduler, stopper and callbacks are the ones pickled when the sweep started.
    """
    from ray import tune

    from hpo.search.searchers.build import param_space

    return tune.Tuner.restore(run.experiment_path, trainable=runnable, param_space=param_space(run.spec),
                              **(run.restore or {}))


def build_tuner(run: SweepRun, plan: SweepPlan, runnable: Any, *, callbacks: list[Any]) -> Any:
    """A new Tuner for ``run``, configured from the spec and its plan.

    Args:
        run: The sweep run.
        plan: Its plan, concurrency known.
        runnable: The trainable as prepared for Tune (resources attached).
        callbacks: The Tune callbacks that feed the driver's own (the store's, the live view...):
            checkpoint retention and TensorBoard's are added here.
    """
    from ray import tune

    from hpo.search.engine.tbx import tensorboard_callback, trial_files_on
    from hpo.search.engine.trainable_glue import checkpoint_frequency_for, reuse_actors_for
    from hpo.search.schedulers.build import make_scheduler
    from hpo.search.searchers.build import make_searcher, param_space, searcher_limit
    from hpo.search.searchers.restored_state import search_algorithm

    # Ray deletes old checkpoints itself only before its experiment state is saved: see hpo.search.engine.retention.
    retention = CheckpointRetention(keep=CHECKPOINTS_KEPT_EXPLOITING if plan.exploits else CHECKPOINTS_KEPT)
    reuse = reuse_actors_for(runnable)
    if not reuse:
        # Ray Tune advises every PBT sweep without actor reuse to turn it on; hpo turns it off on purpose
        # (a command trial's process ends with its trial), so that advice is one a user cannot take.
        warnings.filterwarnings("ignore", message=_PBT_REUSE_ADVICE)
    return tune.Tuner(
        runnable,
        param_space=param_space(run.spec),
        tune_config=tune.TuneConfig(
            # A scheduler ranking by its own metric (scheduler.metric) is built with it, and Ray refuses a
            # metric in both places: TuneConfig then names none, the searchers carry the sweep's.
            metric=None if plan.scheduler_metric else plan.metric,
            mode=None if plan.scheduler_metric else plan.mode,
            search_alg=search_algorithm(make_searcher(run.spec, max_concurrent=searcher_limit(run.spec, plan),
                                                      evaluated=run.evaluated)),
            scheduler=make_scheduler(run.spec, plan=plan, lineage_key=CALLBACK_KEY),
            num_samples=run.spec.search.num_samples,
            reuse_actors=reuse,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=run.experiment_name or run.spec.name,
            storage_path=run.storage,
            callbacks=[*callbacks, retention, *([tensorboard_callback()] if trial_files_on() else [])],
            failure_config=tune.FailureConfig(max_failures=run.spec.failures.max_retries),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=None, checkpoint_frequency=checkpoint_frequency_for(runnable)),
            stop=PlanStopper(CALLBACK_KEY, metric=plan.metric, criteria=plan.stop,
                             scheduler_metric=plan.scheduler_metric),
            verbose=0,
            **_sync_options(run),
        ),
    )


def _sync_options(run: SweepRun) -> dict[str, Any]:
    """A command trial's folder on a URI storage is the actor's local one: Tune uploads it (its logs, the
    script's own files) only with ``sync_artifacts`` on, which is off by default."""
    from ray import tune

    if run.spec.command is not None and storage.is_uri(run.storage):
        return {"sync_config": tune.SyncConfig(sync_artifacts=True)}
    return {}


def trial_dirname(trial: Any) -> str:
    """``train_cifar_1da47fc4``: Ray's default puts the whole config in the path (too long to read)."""
    return f"{trial.trainable_name}_{trial.trial_id}"


def ray_client() -> bool:
    """Connected through Ray Client (``ray://``): Tune's loop then runs on the cluster."""
    from ray.util.client import ray as client_ray

    return bool(client_ray.is_connected())


def fit_restored(run: SweepRun, runnable: Any, tracker: TrialTracker) -> tuple[str, Any]:
    """:func:`restore_tuner` and :func:`fit_tuner`, with the old layout's module paths answerable.

    A sweep started before hpo was one import package names hpo's classes by their old module paths
    in ``tuner.pkl`` (read by ``Tuner.restore``) and in the experiment and searcher state (read as the
    fit starts): ``hpo.search.ray_compat.old_layout`` answers them for as long as both take.
    """
    from hpo.search.ray_compat.old_layout import old_module_paths

    with old_module_paths():
        return fit_tuner(restore_tuner(run, runnable), tracker)


def fit_tuner(tuner: Any, tracker: TrialTracker) -> tuple[str, Any]:
    """Fit; return ("finished"|"failed"|"interrupted", result grid or None).

    Raises:
        MetricNotReportedError: a result lacked the metric (``PlanStopper`` ended the sweep there).
    """
    from ray.tune.error import TuneError

    from hpo.search.engine.result_grid import grid_without_dataframes
    from hpo.search.ray_compat.usage_tag import light_callback_tag

    PlanStopper.clear(CALLBACK_KEY)
    try:
        # Ray's new console output prints its experiment banner even at verbose=0; the legacy
        # reporter at verbose=0 prints nothing, and our ProgressView takes its place. Per-epoch
        # checkpoints make Tune snapshot often, which it would warn about on every burst. Ray's
        # own missing-metric check is off: PlanStopper makes it, with one line instead of a traceback.
        # Tune's callback usage tag would import the W&B and MLflow integrations (hpo.search.ray_compat.usage_tag), and
        # its result grid read every trial's results back from its files (hpo.search.engine.result_grid).
        with set_env(RAY_AIR_NEW_OUTPUT="0", TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0",
                     TUNE_DISABLE_STRICT_METRIC_CHECKING="1"), light_callback_tag(), grid_without_dataframes():
            grid = tuner.fit()
    except KeyboardInterrupt:
        # A second Ctrl-C: Tune's graceful handler already ran on the first one.
        return "interrupted", None
    except TuneError:
        problem = PlanStopper.problem(CALLBACK_KEY)
        if problem is not None:
            raise problem from None
        raise
    if tracker.unfinished():
        return "interrupted", grid
    trials = tracker.trials
    if trials and all(t.status == "ERROR" for t in trials):
        return "failed", grid
    if not trials and len(grid) and grid.num_errors == len(grid):  # Ray Client: no driver-side tracker
        return "failed", grid
    return "finished", grid
