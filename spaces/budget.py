"""What a sweep would spend, and the ``--dry-run`` preview: computed from the spec alone, no Ray."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from spaces.models import SweepSpec
from spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param, iter_params
from spaces.sampling import grid_size, sample_configs

__all__ = ["Budget", "describe_budget", "dry_run_report", "trial_max_t"]


@dataclass(frozen=True)
class Budget:
    """The trial budget of a sweep, in units of the scheduler's ``time_attr`` (epochs for CIFAR).

    Attributes:
        trials: trials the sweep starts (``num_samples`` x the grid size).
        max_t: the most units one trial may run (``scheduler.max_t``, capped by ``stop``).
        rungs: where ASHA / Hyperband may stop a trial (empty for median and fifo).
        full: ``trials * max_t``, the spend with no early stopping.
        expected: the spend when each rung keeps the top ``1/reduction_factor`` (ASHA, Hyperband);
            equal to ``full`` otherwise.
    """

    trials: int
    max_t: int
    rungs: tuple[int, ...]
    full: int
    expected: int


def _rungs(grace: int, rf: float, max_t: int) -> tuple[int, ...]:
    # Ray's ASHA: rungs at grace * rf**k for k < int(log(max_t/grace)/log(rf) + 1), below max_t.
    count = int(math.log(max_t / grace) / math.log(rf) + 1)
    return tuple(r for r in sorted({round(grace * rf**k) for k in range(count)}) if r < max_t)


def trial_max_t(spec: SweepSpec) -> float:
    """The most ``time_attr`` units one trial may run: ``scheduler.max_t``, or a smaller ``stop`` on it."""
    cap = spec.stop.get(spec.scheduler.time_attr)
    return min(float(spec.scheduler.max_t), cap) if cap is not None else float(spec.scheduler.max_t)


def describe_budget(spec: SweepSpec) -> Budget:
    """The trial budget of a spec (see ``Budget``)."""
    sched = spec.scheduler
    trials = spec.search.num_samples * grid_size(spec)
    max_t = int(trial_max_t(spec))
    full = trials * max_t
    if sched.type not in ("asha", "hyperband"):
        return Budget(trials=trials, max_t=max_t, rungs=(), full=full, expected=full)
    rungs = _rungs(sched.grace_period, sched.reduction_factor, max_t)
    bounds = (0, *rungs, max_t)
    expected = sum(
        max(1.0, trials / sched.reduction_factor**j) * (bounds[j + 1] - bounds[j]) for j in range(len(bounds) - 1)
    )
    return Budget(trials=trials, max_t=max_t, rungs=rungs, full=full, expected=min(full, round(expected)))


def _num(x: float) -> str:
    return f"{x:.6g}"


def _describe_param(p: Any) -> str:
    if isinstance(p, (FloatParam, IntParam)):
        extra = " log" if p.log else (f" step {_num(p.step)}" if p.step is not None else "")
        return f"{p.type} {_num(p.low)}..{_num(p.high)}{extra}"
    if isinstance(p, Pow2Param):
        return f"pow2 {', '.join(map(str, p.values()))}"
    if isinstance(p, (ChoiceParam, GridParam)):
        shown = ["{...}" if isinstance(v, dict) else json.dumps(v, default=str) for v in p.values]
        return f"{p.type} [{', '.join(shown)}]"
    return repr(p)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(_num(value))
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def dry_run_report(spec: SweepSpec, *, samples: int = 5) -> str:
    """The ``hpo sweep --dry-run`` text: spec summary, trial budget, sample configs. Starts no Ray."""
    s, sched, res = spec.search, spec.scheduler, spec.resources
    budget = describe_budget(spec)
    where = f"{spec.source}, " if spec.source else ""
    lines = [
        f"Sweep {spec.name}  ({where}spec {spec.spec_hash()})",
        f"  trainable   {spec.trainable}; metric {spec.metric} ({spec.mode})",
        f"  search      {s.algorithm}, {s.num_samples} samples, seed {s.seed}"
        + (f", at most {s.max_concurrent} at once" if s.max_concurrent else "")
        + (f", {len(s.points_to_evaluate)} warm-start points" if s.points_to_evaluate else ""),
        f"  scheduler   {sched.type}: max_t {sched.max_t}, grace {sched.grace_period}, "
        f"rf {_num(sched.reduction_factor)} ({sched.time_attr})",
        f"  resources   {_num(res.cpu)} CPU, {_num(res.gpu)} GPU per trial",
        f"  failures    max_retries {spec.failures.max_retries}, on_oom {spec.failures.on_oom}",
    ]
    if spec.stop:
        lines.append("  stop        " + ", ".join(f"{k} >= {_num(v)}" for k, v in spec.stop.items()))
    if spec.fixed:
        lines.append("  fixed       " + json.dumps(spec.fixed, default=str))
    lines.append("  params")
    lines += [f"    {path[len('params.'):]:<24} {_describe_param(p)}" for path, p in iter_params(spec.params)]
    lines += ["Budget", f"  trials      {budget.trials}" + (
        f" ({s.num_samples} x a grid of {grid_size(spec)})" if grid_size(spec) > 1 else "")]
    if budget.rungs:
        lines.append(f"  rungs       {', '.join(map(str, budget.rungs))} (then max_t {budget.max_t})")
    lines.append(f"  {sched.time_attr}: at most {budget.full} without early stopping "
                 f"({budget.trials} x {budget.max_t})")
    if budget.rungs:
        lines.append(f"  about {budget.expected} with {sched.type} keeping the top 1/{_num(sched.reduction_factor)} "
                     f"at each rung ({budget.expected / budget.full:.2f}x)")
    configs = sample_configs(spec, samples)
    lines.append(f"Sample configs ({len(configs)}, seed {s.seed})")
    lines += [f"  {i}. {json.dumps(_round(c), default=str)}" for i, c in enumerate(configs, 1)]
    return "\n".join(lines)
