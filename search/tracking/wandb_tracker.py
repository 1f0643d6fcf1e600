"""W&B through Ray Tune's ``WandbLoggerCallback``, plus the sweep's name and each trial's final status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpo.search.tracking.trackers import STATUS_KEY, SWEEP_KEY, FailSoft, trial_status
from ray.air.integrations.wandb import WandbLoggerCallback, _QueueItem, _WandbLoggingActor

__all__ = ["WandbTracker"]


class _StatusActor(_WandbLoggingActor):
    """Ray's per-trial logging actor, taught the sweep's name (config) and the final status (summary)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        sweep = kwargs.pop(SWEEP_KEY)
        kwargs["config"] = {**(kwargs.get("config") or {}), SWEEP_KEY: sweep}
        super().__init__(*args, **kwargs)

    def run(self) -> None:
        super().run()
        # wandb.finish() can return while the wandb-core service process is still writing the run
        # (offline: the run-*.wandb file), and Ray kills this actor, with that process, as soon as
        # run() returns: under load a finished run's file was left as its 7-byte header. teardown()
        # waits for the service to flush and exit; this actor logs one run, so nothing else needs it.
        self._wandb.teardown()

    def _handle_result(self, result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        status = result.pop(STATUS_KEY, None)
        log, config_update = super()._handle_result(result)
        if status is not None:
            # The status arrives alone: an empty log adds no history row (checked in the tests).
            self._wandb.run.summary[STATUS_KEY] = status
        return log, config_update


class _StatusWandb(WandbLoggerCallback):
    _logger_actor_cls = _StatusActor

    def __init__(self, *, sweep: str, max_t: float | None, time_attr: str, mode: str,
                 stop: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(mode=mode, **{SWEEP_KEY: sweep}, **kwargs)
        self._mode = mode
        self._max_t = max_t
        self._time_attr = time_attr
        self._stop = stop

    def setup(self, *args: Any, **kwargs: Any) -> None:
        # Ray's setup insists on an API key unless the WANDB_MODE variable says offline; the mode
        # here comes from the spec, and check_trackers already vetted online credentials.
        if self._mode == "online":
            super().setup(*args, **kwargs)

    def _start_logging_actor(self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any) -> None:
        # Ray runs wandb in the trial's driver staging directory (under Ray's session temp dir) and
        # syncs that to storage only at checkpoints: a run that ends last would miss the final sync.
        # With local storage, write the run straight into the trial's directory in the run home.
        import pyarrow.fs

        if isinstance(trial.storage.storage_filesystem, pyarrow.fs.LocalFileSystem):
            Path(trial.path).mkdir(parents=True, exist_ok=True)
            wandb_init_kwargs.setdefault("dir", trial.path)
        super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        if trial in self._trial_queues:
            status = trial_status(trial, failed=failed, max_t=self._max_t, time_attr=self._time_attr, stop=self._stop)
            self._trial_queues[trial].put((_QueueItem.RESULT, {STATUS_KEY: status}))
        super().log_trial_end(trial, failed)


class WandbTracker(FailSoft, _StatusWandb):
    """One W&B run per trial (id = trial id), grouped by sweep; fail-soft.

    Args:
        project: W&B project.
        entity: W&B entity, or None for the login's default.
        group: W&B group (the sweep's name unless the spec says otherwise).
        mode: ``online`` or ``offline`` (offline runs land in each trial's directory, under ``wandb/``).
        sweep: The sweep's name, logged in every run's config as ``hpo_sweep``.
        max_t: As the store's callback has it (None: the scheduler stops no trial early).
        time_attr: The result key ``max_t`` counts.
        stop: The sweep's stop criteria (a trial that met one completed).
    """

    tracker_name = "W&B tracking"

    def __init__(self, *, project: str, entity: str | None, group: str, mode: str, sweep: str,
                 max_t: float | None, time_attr: str, stop: dict[str, float] | None = None) -> None:
        super().__init__(project=project, group=group, mode=mode, sweep=sweep, max_t=max_t, time_attr=time_attr,
                         stop=stop, **({"entity": entity} if entity else {}))
