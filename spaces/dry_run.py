"""The ``--dry-run`` preview: the spec, its plan (budget, rungs) and sample configs; no Ray."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hpo.spaces.durations import duration_text
from hpo.spaces.models import SweepSpec
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param, iter_params
from hpo.spaces.plan import SweepPlan, build_plan
from hpo.spaces.sampling import grid_size, sample_configs

__all__ = ["dry_run_report"]


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


def _command_details(spec: SweepSpec) -> str:
    """`` (args flags; metrics lines, 2 regexes, tensorboard logs/; stop_grace 10s)`` for a command, else ``""``."""
    command = spec.command
    if command is None:
        return ""
    sources = command.metrics
    read = (["lines"] if sources.lines else []) + (
        [f"{len(sources.regex)} regex{'es' if len(sources.regex) > 1 else ''}"] if sources.regex else []) + (
        [f"tensorboard {sources.tensorboard.dir.rstrip('/')}/"] if sources.tensorboard is not None else [])
    where = "" if command.cwd == "trial" else f"; cwd {command.cwd}"
    return (f" (args {command.args}; metrics {', '.join(read)}{where}; "
            f"stop_grace {duration_text(command.stop_grace)})")


def dry_run_report(
    spec: SweepSpec | dict[str, Any] | str,
    *,
    samples: int = 5,
    plan: SweepPlan | None = None,
    command_of: Callable[[dict[str, Any]], str] | None = None,
) -> str:
    """The ``hpo sweep --dry-run`` text: spec summary, trial budget, sample configs. Starts no Ray.

    Args:
        spec: The spec; or a dict / YAML file's path, validated first (``spaces.spec_input.as_spec``).
        samples: How many sample configs to draw.
        plan: The spec's plan (default: built from the spec alone, capacity unknown).
        command_of: For a command trainable: a sample config's command line, printed under it after
            ``$ `` (``spaces`` does not know the argv rule; ``hpo.search.engine.preview`` passes it).
    """
    from hpo.spaces.spec_input import as_spec  # here: it imports validate, which may come to need the plan

    spec = as_spec(spec)
    s, sched, res = spec.search, spec.scheduler, spec.resources
    budget = plan if plan is not None else build_plan(spec)
    where = f"{spec.source}, " if spec.source else ""
    lines = [
        f"Sweep {spec.name}  ({where}spec {spec.spec_hash()})",
        f"  trainable   {spec.trainable_label}{_command_details(spec)}; "
        + (f"metric {spec.metric} ({spec.mode})" if len(budget.objectives) == 1 else
           "objectives " + ", ".join(f"{m} ({d})" for m, d in budget.objectives) + ": the answer is a Pareto set"),
        f"  search      {s.algorithm}" + (f" ({s.sampler} sampler)" if s.sampler else "")
        + f", {s.num_samples} samples, seed {s.seed}"
        + (f", at most {s.max_concurrent} at once" if s.max_concurrent else "")
        + (f", {len(s.points_to_evaluate)} warm-start points" if s.points_to_evaluate else ""),
        f"  scheduler   {sched.type}: max_t {sched.max_t}, grace {sched.grace_period}, "
        f"rf {_num(sched.reduction_factor)} ({sched.time_attr})"
        + (f"; ranks by {budget.scheduler_metric} ({budget.scheduler_mode})" if budget.scheduler_metric else ""),
        f"  resources   {_num(res.cpu)} CPU, {_num(res.gpu)} GPU per trial" if res.workers == 1 else
        f"  resources   {res.workers} workers x ({_num(res.cpu)} CPU, {_num(res.gpu)} GPU) per trial: "
        f"{_num(res.cpu * res.workers)} CPU, {_num(res.gpu * res.workers)} GPU, data-parallel",
        f"  failures    max_retries {spec.failures.max_retries}, on_oom {spec.failures.on_oom}"
        + "".join(f", {key} {duration_text(value)}" for key, value in (
            ("trial_timeout", spec.failures.trial_timeout), ("report_timeout", spec.failures.report_timeout))
            if value is not None)
        + ("" if spec.failures.fail_fast else ", fail_fast off (every trial runs, however the first ones fail)"),
    ]
    if spec.stop:
        lines.append("  stop        " + ", ".join(f"{k} >= {_num(v)}" for k, v in spec.stop.items()))
    if spec.fixed:
        lines.append("  fixed       " + json.dumps(spec.fixed, default=str))
    lines.append("  params")
    lines += [f"    {path[len('params.'):]:<24} {_describe_param(p)}" for path, p in iter_params(spec.params)]
    lines += ["Budget", f"  trials      {budget.trials}" + (
        f" ({s.num_samples} x a grid of {grid_size(spec)})" if grid_size(spec) > 1 else "")]
    if budget.concurrency:
        lines.append(f"  at once     {budget.concurrency} trial(s)")
    if budget.rungs:
        lines.append(f"  rungs       {', '.join(map(str, budget.rungs))} (then max_t {budget.trial_cap})")
    if budget.exploits:
        lines.append(f"  exploits    every {budget.perturbation_interval} {sched.time_attr}: the bottom "
                     f"{_num(sched.quantile_fraction)} copy the top's checkpoints, mutating "
                     f"{', '.join(budget.mutations)}")
    lines.append(f"  {sched.time_attr}: at most {budget.budget_full} without early stopping "
                 f"({budget.trials} x {budget.trial_cap})")
    if budget.rungs:
        lines.append(f"  about {budget.budget_expected} with {sched.type} keeping the top "
                     f"1/{_num(sched.reduction_factor)} at each rung "
                     f"({budget.budget_expected / budget.budget_full:.2f}x)")
    configs = sample_configs(spec, samples)
    lines.append(f"Sample configs ({len(configs)}, seed {s.seed})")
    for i, config in enumerate(configs, 1):
        lines.append(f"  {i}. {json.dumps(_round(config), default=str)}")
        if command_of is not None:
            lines.append(f"     $ {command_of(config)}")
    return "\n".join(lines)
