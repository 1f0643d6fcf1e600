"""The pieces of one Tuner run: concurrency, callbacks, RunConfig, fitting, the outcome's error.

Split from ``search.sweep`` (which orders the steps) to keep both files short.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from search import cluster

__all__ = [
    "CALLBACK_KEY", "callbacks_for", "first_error", "fit", "max_concurrent", "ray_client", "run_config",
    "stop_criteria", "trial_dirname",
]

logger = logging.getLogger(__name__)

CALLBACK_KEY = "hpo-sweep"
_CHECKPOINTS_KEPT = 2  # the latest is always kept by Ray; one more for the best-so-far


def max_concurrent(spec: Any) -> int:
    """``search.max_concurrent``, else how many trials of the spec's size the cluster holds."""
    if spec.search.max_concurrent:
        return int(spec.search.max_concurrent)
    return cluster.concurrency_slots(spec, cluster.joined_capacity())


def callbacks_for(spec: Any, store: Any, progress: Any, tracker: Any) -> list[Any]:
    """The live driver-side callbacks: the store's, the tracker, and the progress view if any."""
    import spaces
    from results import StoreCallback
    from search.progress import ProgressView, resolve_mode

    # FIFO stops no trial, so every clean end is "completed" (max_t=None), in the store and the view alike.
    early_stopping = spec.scheduler.type != "fifo"
    live: list[Any] = [
        StoreCallback(
            store,
            sweep=spec.name,
            metric=spec.metric,
            mode=spec.mode,
            max_t=spec.scheduler.max_t if early_stopping else None,
            time_attr=spec.scheduler.time_attr,
        ),
        tracker,
    ]
    view = None
    if isinstance(progress, ProgressView):
        view = progress
    else:
        mode = resolve_mode(progress)
        if mode != "none":
            view = ProgressView(
                name=spec.name,
                metric=spec.metric,
                mode=spec.mode,
                max_t=int(spaces.trial_max_t(spec)),  # the budget shown is the one --dry-run printed
                time_attr=spec.scheduler.time_attr,
                early_stopping=early_stopping,
                mode_view=mode,
                config_keys=list(spec.params),
            )
    if view is not None:
        live.append(view)
    return live


def ray_client() -> bool:
    """Connected through Ray Client (``ray://``): Tune's loop then runs on the cluster."""
    from ray.util.client import ray as client_ray

    return bool(client_ray.is_connected())


def stop_criteria(spec: Any) -> dict[str, float]:
    """``spec.stop`` plus ``max_t`` as a hard cap on every trial, whatever the scheduler.

    ASHA and Hyperband stop at ``max_t`` themselves; FIFO and the median rule would let a
    trainable that never ends on its own run past the budget ``--dry-run`` showed.
    """
    import spaces

    return {**{k: float(v) for k, v in spec.stop.items()}, spec.scheduler.time_attr: spaces.trial_max_t(spec)}


def trial_dirname(trial: Any) -> str:
    """``train_cifar_1da47fc4``: Ray's default puts the whole config in the path (too long to read)."""
    return f"{trial.trainable_name}_{trial.trial_id}"


def run_config(
    spec: Any, home: Path, *, remote_callbacks: list[Any] | None = None, checkpoint_frequency: int = 0
) -> Any:
    from ray import tune
    from ray.tune.logger import TBXLoggerCallback

    from search.callbacks import LiveCallbacks

    # Through Ray Client the callbacks run on the cluster, where nothing is bound to the
    # proxy's key: pass the (picklable, reopened-by-URL) store callback itself instead.
    callbacks = remote_callbacks if remote_callbacks is not None else [LiveCallbacks(CALLBACK_KEY)]
    return tune.RunConfig(
        name=spec.name,
        storage_path=str(home / "ray"),
        callbacks=[*callbacks, TBXLoggerCallback()],
        failure_config=tune.FailureConfig(max_failures=spec.failures.max_retries),
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=_CHECKPOINTS_KEPT, checkpoint_frequency=checkpoint_frequency
        ),
        stop=stop_criteria(spec),
        verbose=0,
    )


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of ``fit`` (Tune reads them there)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fit(tuner: Any, tracker: Any) -> tuple[str, Any]:
    """Fit; return ("finished"|"failed"|"interrupted", result grid or None)."""
    try:
        # Ray's new console output prints its experiment banner even at verbose=0; the legacy
        # reporter at verbose=0 prints nothing, and our ProgressView takes its place. Per-epoch
        # checkpoints make Tune snapshot often, which it would warn about on every burst.
        with _env(RAY_AIR_NEW_OUTPUT="0", TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0"):
            grid = tuner.fit()
    except KeyboardInterrupt:
        # A second Ctrl-C: Tune's graceful handler already ran on the first one.
        return "interrupted", None
    if tracker.unfinished():
        return "interrupted", grid
    trials = tracker.trials
    if trials and all(t.status == "ERROR" for t in trials):
        return "failed", grid
    if not trials and len(grid) and grid.num_errors == len(grid):  # Ray Client: no driver-side tracker
        return "failed", grid
    return "finished", grid


def first_error(store: Any, name: str, grid: Any) -> str | None:
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
