"""W&B through Ray Tune's ``WandbLoggerCallback``, plus the sweep's name and each trial's final status.

Ray's callback and its logging actor are reached through ``hpo.search.ray_compat.wandb``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpo.search.ray_compat.wandb import WandbRunsCallback
from hpo.search.tracking.common import STATUS_KEY, SWEEP_KEY, FailSoft, StatusRule

__all__ = ["WandbTracker"]


class _StatusWandb(WandbRunsCallback):
    """Every run gets the sweep's name (config ``hpo_sweep``) and its trial's final status (summary
    ``hpo_status``); with local storage, the run is written in the trial's own directory."""

    def __init__(self, *, sweep: str, max_t: float | None, time_attr: str, mode: str,
                 stop: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(mode=mode, run_config={SWEEP_KEY: sweep}, **kwargs)
        self.online = mode == "online"
        self.status_rule = StatusRule(max_t, time_attr, stop)

    def setup(self, *args: Any, **kwargs: Any) -> None:
        # Ray's setup insists on an API key unless the WANDB_MODE variable says offline; the mode
        # here comes from the spec, and check_trackers already vetted online credentials.
        if self.online:
            super().setup(*args, **kwargs)

    def run_dir(self, trial: Any) -> str | None:
        # Ray runs wandb in the trial's driver staging directory (under Ray's session temp dir) and
        # syncs that to storage only at checkpoints: a run that ends last would miss the final sync.
        # With local storage, write the run straight into the trial's directory in the run home.
        import pyarrow.fs

        if isinstance(trial.storage.storage_filesystem, pyarrow.fs.LocalFileSystem):
            Path(trial.path).mkdir(parents=True, exist_ok=True)
            return str(trial.path)
        return None

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        if self.has_run(trial):
            status = self.status_rule.status(trial, failed=failed, stopped=self.stopped_on_last_result(trial))
            self.set_summary(trial, {STATUS_KEY: status})
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
