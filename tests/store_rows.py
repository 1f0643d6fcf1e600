"""Store rows without Ray: sweeps filled through the real ``StoreCallback`` with stand-in trials.

On ``sys.path`` as ``store_rows`` (pytest puts ``tests/`` there for the root conftest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpo.results import Store

__all__ = ["FakeTrial", "fill_sweep"]


@dataclass
class FakeTrial:
    """What StoreCallback reads from a Ray Trial, without Ray."""

    trial_id: str
    config: dict[str, Any]
    error_file: str | None = None
    checkpoint: Any = None
    last_result: dict[str, Any] = field(default_factory=dict)

    def get_error(self) -> str | None:
        return None


def fill_sweep(store: Store, name: str, spec_yaml: str, trials: dict[str, tuple[dict[str, Any], list[float], str]],
               *, status: str = "finished", parent: str | None = None) -> None:
    """A sweep from ``spec_yaml`` whose trials report ``values`` (one per iteration) of the spec's metric,
    then end ``complete`` (completed, or stopped early below ``scheduler.max_t``), ``error`` or ``running``.
    The sweep ends ``status`` (``running`` leaves it open)."""
    import yaml

    from hpo.results import StoreCallback

    spec = yaml.safe_load(spec_yaml)
    first = (spec.get("metrics") or [{}])[0]
    metric, mode = spec.get("metric", first.get("name")), spec.get("mode", first.get("mode"))
    max_t = (spec.get("scheduler") or {}).get("max_t")
    store.start_sweep(name=name, spec_yaml=spec_yaml, spec_hash="h" * 16, metric=metric, mode=mode, max_t=max_t,
                      parent=parent)
    callback = StoreCallback(store, sweep=name, metric=metric, mode=mode, max_t=max_t)
    callback.setup()
    fakes = {tid: FakeTrial(tid, config) for tid, (config, _, _) in trials.items()}
    everyone = list(fakes.values())
    for trial in everyone:
        callback.on_trial_start(0, everyone, trial)
    for tid, (config, values, end) in trials.items():
        for step, value in enumerate(values, start=1):
            callback.on_trial_result(0, everyone, fakes[tid], {
                "training_iteration": step, "time_total_s": step * 0.5, metric: value, "config": config,
                "done": end == "complete" and step == len(values)})  # Tune sets done where it stops a trial
    for tid, (_, _, end) in trials.items():
        if end == "complete":
            callback.on_trial_complete(0, everyone, fakes[tid])
        elif end == "error":
            callback.on_trial_error(0, everyone, fakes[tid])
    callback.on_experiment_end(everyone)
    if status != "running":
        store.finish_sweep(name, status)
