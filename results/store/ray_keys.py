"""The keys Ray Tune adds to every result by itself, spelled once.

The engine reads them to tell a result that carries no metric of the trainable's (only Ray's keys: the
trainable returned without reporting, which Ray lets pass); the store leaves those that say nothing
about training out of a result's stored metrics, and keeps the ones that measure progress.
"""

from __future__ import annotations

__all__ = ["PRINTED_AT_KEY", "RAY_AUTO_KEYS", "RAY_PROGRESS_KEYS", "RAY_UNSTORED_KEYS", "UNSTORED_KEYS"]

# What Ray Tune 2.x puts in a result whatever the trainable reported (ray.tune.result's AUTO_RESULT_KEYS,
# and what its function trainable and controller add beside them).
RAY_AUTO_KEYS = frozenset({
    "done", "training_iteration", "time_this_iter_s", "time_total_s", "time_since_restore",
    "iterations_since_restore", "timesteps_total", "episodes_total", "timesteps_since_restore", "config", "date",
    "hostname", "node_ip", "pid", "timestamp", "trial_id", "experiment_tag", "checkpoint_dir_name",
    "should_checkpoint", "experiment_id", "trial_resources", "__trial_info__",
})
# Of those, the ones that measure a trial's progress: stored with its metrics (plots and the scheduler's
# time_attr read them).
RAY_PROGRESS_KEYS = frozenset({
    "training_iteration", "time_this_iter_s", "time_total_s", "timesteps_total", "episodes_total",
    "timesteps_since_restore",
})
# The rest: Ray's bookkeeping, left out of the stored metrics.
RAY_UNSTORED_KEYS = RAY_AUTO_KEYS - RAY_PROGRESS_KEYS
# A command trial's result holds when its line was printed (epoch seconds): the row's recorded time, not a
# metric (hpo.trainables.command.parsing.PRINTED_AT; results may not import trainables).
PRINTED_AT_KEY = "hpo_printed_at"
# What a stored result's metrics leave out: Ray's bookkeeping, and the printed time (kept as the row's time).
UNSTORED_KEYS = RAY_UNSTORED_KEYS | {PRINTED_AT_KEY}
