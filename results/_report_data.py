"""What every report format shows, gathered once from the store: the sweep, its parsed spec,
trials best first, every result, the plotted hyperparameters and the reproduce command."""

from __future__ import annotations

import functools
import math
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from ._plan import plan_of
from ._records import SweepRecord, TrialRecord
from ._store import Store
from ._tabular import flatten

if TYPE_CHECKING:
    import pandas as pd

    from ._cost import Cost
    from ._importance import Importance

__all__ = ["ParamAxis", "ReportData", "gather", "parse_spec", "rungs", "yaml_text"]

TOP_TRIALS = 20  # rows in the "top trials" table
TOP_CONFIG_COLUMNS = 8  # config columns shown in tables (the varying ones first)


@dataclass(frozen=True)
class ParamAxis:
    """One hyperparameter as a plot axis: dotted config key, log scale (base 2 for pow2), categorical."""

    key: str
    log: bool = False
    categorical: bool = False
    base2: bool = False


@dataclass
class ReportData:
    """Everything a report renders."""

    sweep: SweepRecord
    store_url: str
    spec: dict[str, Any]
    trials: list[TrialRecord]  # best first by the last value (Ray's default scope)
    results: pd.DataFrame  # trial_id, iteration, time_total_s, metric, recorded
    params: list[ParamAxis]
    generated: datetime = field(default_factory=lambda: datetime.now(tz=UTC))

    @property
    def best(self) -> TrialRecord | None:
        """The best trial (last value), or None if no trial reported the metric."""
        first = self.trials[0] if self.trials else None
        return first if first is not None and first.last_metric is not None else None

    @functools.cached_property
    def flat_configs(self) -> dict[str, dict[str, Any]]:
        """Each trial's config as dotted keys, by trial id."""
        return {t.trial_id: flatten(t.config) for t in self.trials}

    @functools.cached_property
    def plan(self) -> dict[str, Any] | None:
        """The sweep's plan (partial, from the spec, for stores that hold none)."""
        return plan_of(self.sweep, self.spec)

    @functools.cached_property
    def cost(self) -> Cost:
        """The sweep's CPU-hours and GPU-hours (resources per trial × trial wall time)."""
        from ._cost import sweep_cost

        return sweep_cost(self.sweep, self.trials, self.spec)

    @functools.cached_property
    def importance(self) -> list[Importance]:
        """Param importance per rung (Optuna's PED-ANOVA)."""
        from ._importance import importance

        return importance(self)

    @property
    def errored(self) -> list[TrialRecord]:
        """Trials that ended in error."""
        return [t for t in self.trials if t.status == "error"]

    def section(self, key: str) -> dict[str, Any]:
        """A mapping section of the spec (``search``, ``scheduler``, ...), {} when absent."""
        value = self.spec.get(key)
        return value if isinstance(value, dict) else {}

    def table_columns(self) -> list[str]:
        """Config keys shown in tables: the plotted hyperparameters, then other varying keys."""
        keys = [p.key for p in self.params]
        for key in _varying(self.trials):
            if key not in keys:
                keys.append(key)
        return keys[:TOP_CONFIG_COLUMNS]

    def reproduce_command(self) -> str | None:
        """``hpo sweep <spec> --set ...`` that reruns the best trial's config once, for max_t."""
        best = self.best
        if best is None:
            return None
        spec_ref = str(self.spec.get("source") or "spec.yaml")
        args = ["hpo", "sweep", spec_ref, "--name", f"{self.sweep.name}-best",
                "--set", "search.algorithm=random", "--set", "search.num_samples=1",
                "--set", "scheduler.type=fifo"]
        params = self.spec.get("params")
        keys = list(params) if isinstance(params, dict) else [k for k in best.config if k not in
                                                                    self.section("fixed")]
        for key in keys:
            if key in best.config:
                args += ["--set", f"params.{key}={_flow(best.config[key])}"]
        return " ".join(shlex.quote(arg) for arg in args)


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def yaml_text(value: Any) -> str:
    """Block YAML of a config or mapping, in its own key order."""
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True).strip()


def _varying(trials: list[TrialRecord]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for trial in trials:
        for key, value in flatten(trial.config).items():
            seen.setdefault(key, set()).add(repr(value))
    return [key for key, values in seen.items() if len(values) > 1]


def _axes_from_spec(params: dict[str, Any], prefix: str = "") -> list[ParamAxis]:
    axes: list[ParamAxis] = []
    for key, value in params.items():
        path = f"{prefix}{key}"
        if not isinstance(value, dict):
            continue  # a constant
        if "type" not in value:
            axes += _axes_from_spec(value, prefix=f"{path}.")  # a nested group
            continue
        kind = str(value["type"])
        if kind in ("choice", "grid"):
            options = value.get("values") or []
            if options and all(isinstance(o, dict) for o in options):  # a choice of groups
                seen: set[str] = set()
                for group in options:
                    for sub_key, sub in group.items():
                        if isinstance(sub, dict) and "type" in sub:
                            found = _axes_from_spec({sub_key: sub}, prefix=f"{path}.")
                        else:
                            found = [ParamAxis(f"{path}.{sub_key}", categorical=True)]
                        for axis in found:
                            if axis.key not in seen:
                                seen.add(axis.key)
                                axes.append(axis)
            else:
                axes.append(ParamAxis(path, categorical=True))
        else:
            axes.append(ParamAxis(path, log=bool(value.get("log")) or kind == "pow2", base2=kind == "pow2"))
    return axes


def _axes_from_plan(axes: list[Any]) -> list[ParamAxis]:
    return [ParamAxis(str(a["name"]), log=bool(a.get("log")) or bool(a.get("base2")),
                      categorical=a.get("kind") in ("choice", "grid") or a.get("categories") is not None,
                      base2=bool(a.get("base2")))
            for a in axes if isinstance(a, dict) and a.get("name")]


def _axes_from_configs(trials: list[TrialRecord]) -> list[ParamAxis]:
    axes = []
    configs = [flatten(t.config) for t in trials]
    for key in _varying(trials):
        values = [c[key] for c in configs if key in c and c[key] is not None]
        numeric = bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        log = numeric and min(values) > 0 and max(values) / min(values) >= 100
        axes.append(ParamAxis(key, log=log, categorical=not numeric))
    return axes


def parse_spec(spec_yaml: str | None) -> dict[str, Any]:
    if not spec_yaml:
        return {}
    try:
        parsed = yaml.safe_load(spec_yaml)
    except yaml.YAMLError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def gather(store: Store, name: str) -> ReportData:
    """Read one sweep's report data from the store.

    Raises:
        SweepNotFoundError: no such sweep.
    """
    sweep = store.get_sweep(name)
    spec = parse_spec(sweep.spec_yaml)
    trials = store.trials(name)
    params_spec = spec.get("params")
    plan = plan_of(sweep, spec)
    if plan is not None and isinstance(plan.get("axes"), list):
        axes = _axes_from_plan(plan["axes"])
    elif isinstance(params_spec, dict):
        axes = _axes_from_spec(params_spec)
    else:
        axes = _axes_from_configs(trials)
    varying = set(_varying(trials))
    axes = [a for a in axes if a.key in varying]
    return ReportData(sweep=sweep, store_url=store.url_masked, spec=spec, trials=trials,
                      results=store.results_frame(name), params=axes)


def rungs(data: ReportData) -> list[int]:
    """ASHA/HyperBand rung milestones and the per-trial cap, [] for schedulers that never stop early.

    The plan's rungs when the store holds a plan; else (older stores) read from the spec's scheduler.
    """
    plan = plan_of(data.sweep)
    if plan is not None and isinstance(plan.get("rungs"), list):
        if not plan.get("early_stopping", True):
            return []
        cap = plan.get("trial_cap")
        return sorted({int(r) for r in plan["rungs"]} | ({int(cap)} if cap else set()))
    scheduler = data.section("scheduler")
    if str(scheduler.get("type", "")).lower() not in ("asha", "hyperband", "async_hyperband"):
        return []
    try:
        max_t = float(scheduler.get("max_t") or data.sweep.max_t or 0)
        grace = float(scheduler.get("grace_period") or 1)
        factor = float(scheduler.get("reduction_factor") or 4)
    except (TypeError, ValueError):
        return []
    if max_t <= 0 or grace <= 0 or factor <= 1:
        return []
    milestones, value = [], grace
    while value < max_t:
        milestones.append(int(value))
        value *= factor
    return [*milestones, int(max_t)]
