"""Ray Tune's ``WandbLoggerCallback`` and its per-trial logging actor, with what hpo adds to each run: config
keys, summary values, a run folder, and a flush before the actor exits.

Checked on Ray 2.60.0 (with wandb 0.31.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.air.integrations.wandb import WandbLoggerCallback, _QueueItem, _WandbLoggingActor

__all__ = ["SUMMARY_ITEM", "WandbRunActor", "WandbRunsCallback"]

SUMMARY_ITEM = "__hpo_summary__"  # the key a queued result carries summary values under


class WandbRunActor(_WandbLoggingActor):
    """Ray's per-trial W&B logging actor, writing summary items and flushing W&B before it exits.

    Touches ``_WandbLoggingActor`` (Ray's actor class, subclassed), its ``_handle_result`` (where a queued
    result becomes a log row: a :data:`SUMMARY_ITEM` is taken out there and written to the run's summary,
    adding no history row) and ``_wandb`` (the actor's wandb module). Checked on Ray 2.60.0.
    """

    def run(self) -> None:
        super().run()
        # wandb.finish() can return while the wandb-core service process is still writing the run
        # (offline: the run-*.wandb file), and Ray kills this actor, with that process, as soon as
        # run() returns: under load a finished run's file was left as its 7-byte header. teardown()
        # waits for the service to flush and exit; this actor logs one run, so nothing else needs it.
        self._wandb.teardown()

    def _handle_result(self, result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        summary = result.pop(SUMMARY_ITEM, None)
        log, config_update = super()._handle_result(result)
        if summary:
            self._wandb.run.summary.update(summary)
        return log, config_update


class WandbRunsCallback(WandbLoggerCallback):
    """``WandbLoggerCallback`` whose runs get ``run_config`` in their config, :meth:`run_dir` as their
    folder, and summary values from :meth:`set_summary`.

    Touches ``WandbLoggerCallback._logger_actor_cls`` (the actor class: :class:`WandbRunActor`),
    ``_start_logging_actor`` (where ``wandb.init``'s arguments are final) and ``_trial_queues`` (each
    trial's queue to its actor). Checked on Ray 2.60.0.

    Args:
        run_config: Keys added to every run's config (beside the trial's config).
        **kwargs: ``WandbLoggerCallback``'s (project, group, mode, ...).
    """

    _logger_actor_cls = WandbRunActor

    def __init__(self, *, run_config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_config = dict(run_config or {})

    def run_dir(self, trial: Any) -> str | None:
        """The folder W&B writes ``trial``'s run under (``wandb.init(dir=...)``); None: Ray's choice, the
        trial's staging folder. Override it."""
        return None

    def has_run(self, trial: Any) -> bool:
        """Whether ``trial``'s run is being logged (its actor started and not yet told to end)."""
        return trial in self._trial_queues

    def set_summary(self, trial: Any, values: Mapping[str, Any]) -> None:
        """Queue ``values`` for ``trial``'s run summary, after what is queued already (:meth:`has_run` first)."""
        self._trial_queues[trial].put((_QueueItem.RESULT, {SUMMARY_ITEM: dict(values)}))

    def _start_logging_actor(self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any) -> None:
        if self.run_config:
            wandb_init_kwargs["config"] = {**(wandb_init_kwargs.get("config") or {}), **self.run_config}
        folder = self.run_dir(trial)
        if folder is not None:
            wandb_init_kwargs.setdefault("dir", folder)
        super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)
