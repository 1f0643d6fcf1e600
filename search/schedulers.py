"""Trial schedulers from a spec. metric/mode are NOT passed here: TuneConfig sets them once."""

from __future__ import annotations

from typing import Any

__all__ = ["make_scheduler"]


def make_scheduler(spec: Any) -> Any:
    """Build the spec's scheduler: ``asha``, ``hyperband``, ``median`` or ``fifo``."""
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
    )

    sch = spec.scheduler
    kind = sch.type
    if kind == "asha":
        return ASHAScheduler(
            time_attr=sch.time_attr,
            max_t=sch.max_t,
            grace_period=sch.grace_period,
            reduction_factor=sch.reduction_factor,
        )
    if kind == "hyperband":
        return HyperBandScheduler(
            time_attr=sch.time_attr, max_t=sch.max_t, reduction_factor=sch.reduction_factor
        )
    if kind == "median":
        # min_samples_required=2 so that small sweeps get early stopping at all.
        return MedianStoppingRule(
            time_attr=sch.time_attr, grace_period=sch.grace_period, min_samples_required=2
        )
    if kind == "fifo":
        return FIFOScheduler()
    raise ValueError(f"scheduler.type: unknown scheduler {kind!r}; use asha, hyperband, median or fifo")
