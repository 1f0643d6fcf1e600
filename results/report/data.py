"""What every report format shows, gathered once from the store: the sweep, its parsed spec,
trials best first (those replaced by a later run apart), every result, the plotted hyperparameters,
the distinct errors and the reproduce command."""

from __future__ import annotations

import functools
import gc
import math
import shlex
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from hpo.results.analysis.plan import ParamAxis, axes_of, plan_of, rungs_of
from hpo.results.analysis.sample import SAMPLE_ABOVE, Sample, sample_trials
from hpo.results.report.tabular import flatten
from hpo.results.store.records import ExploitRecord, SweepRecord, TrialRecord
from hpo.results.store.schema import TRIAL_STATUSES
from hpo.results.store.store import Store

if TYPE_CHECKING:
    import pandas as pd

    from hpo.results.analysis.confirm import Confirmation
    from hpo.results.analysis.cost import Cost
    from hpo.results.analysis.errors import ErrorGroup
    from hpo.results.analysis.importance import Importance

__all__ = ["Progress", "ReportData", "collector_paused", "flow_text", "gather", "param_importance", "parse_spec",
           "yaml_text"]

TOP_TRIALS = 20  # rows in the "top trials" table
TOP_CONFIG_COLUMNS = 8  # config columns shown in tables (the varying ones first)


@dataclass(frozen=True)
class Progress:
    """What best-so-far draws when the results are sampled: the results of every trial that could have
    set a new best (so the staircase is exact), and when the sweep's last result came."""

    frame: pd.DataFrame  # trial_id, iteration, time_total_s, metric, recorded
    last: float | None  # epoch seconds


@dataclass
class ReportData:
    """Everything a report renders."""

    sweep: SweepRecord
    store_url: str
    spec: dict[str, Any]
    trials: list[TrialRecord]  # best first by the last value (Ray's default scope); replaced ones left out
    results: pd.DataFrame  # trial_id, iteration, time_total_s, metric, recorded (of sample.drawn's trials)
    params: list[ParamAxis]
    lineage: list[ExploitRecord] = field(default_factory=list)  # PBT's exploits, oldest first
    confirmation: Confirmation | None = None  # this sweep's (or, for a parent, its latest) confirmation
    generated: datetime = field(default_factory=lambda: datetime.now(tz=UTC))
    sample: Sample | None = None  # the trials the plots draw (None: every trial)
    progress: Progress | None = None  # best-so-far's results when ``results`` holds a sample only
    # Errored trials whose config ran again as a later trial (``replaced_by``): kept for the record and their
    # cost, never counted, ranked or plotted.
    replaced: list[TrialRecord] = field(default_factory=list)

    @property
    def drawn(self) -> list[TrialRecord]:
        """The trials the plots draw, best first: every trial, or a big sweep's sample."""
        return self.sample.drawn if self.sample is not None else self.trials

    @property
    def sampled(self) -> bool:
        """Whether the plots draw a sample of the trials (a sweep past ``SAMPLE_ABOVE``)."""
        return self.sample is not None and self.sample.sampled

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
        from hpo.results.analysis.cost import sweep_cost

        return sweep_cost(self.sweep, self.trials + self.replaced, self.spec)  # a replaced trial ran: it cost

    @functools.cached_property
    def importance(self) -> list[Importance]:
        """Param importance per rung (Optuna's PED-ANOVA)."""
        return self.estimate_importance()

    def estimate_importance(self, *, evaluator: str = "ped_anova") -> list[Importance]:
        """Param importance per rung by ``evaluator`` (``ped_anova`` or ``fanova``), over the trials the
        plots draw from (a big sweep's even sample)."""
        from hpo.results.analysis.importance import Evidence, importance

        return importance(Evidence(trials=self.trials, results=self.results, axes=self.params,
                                   configs=self.flat_configs, mode=self.sweep.mode, rungs=self.rungs,
                                   sample=self.sample), evaluator=evaluator)

    @property
    def rungs(self) -> list[int]:
        """Where the scheduler could stop trials, then the per-trial cap, as the sweep's plan has them;
        [] for a scheduler without rungs, or a sweep recorded without a plan."""
        return rungs_of(self.plan)

    @property
    def errored(self) -> list[TrialRecord]:
        """Trials that ended in error (replaced ones left out)."""
        return [t for t in self.trials if t.status == "error"]

    @property
    def counts(self) -> dict[str, int]:
        """The counted trials by status (every status present), replaced trials left out."""
        counts = dict.fromkeys(TRIAL_STATUSES, 0)
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts

    @functools.cached_property
    def errors(self) -> list[ErrorGroup]:
        """The distinct errors of the counted trials, most frequent first, with the trials each ended."""
        from hpo.results.analysis.errors import error_groups

        return error_groups(self.trials)

    @functools.cached_property
    def reported(self) -> bool:
        """Whether any trial reported the metric (else no plot of it can be drawn)."""
        return any(t.last_metric is not None for t in self.trials) or bool(self.results["metric"].notna().any())

    def section(self, key: str) -> dict[str, Any]:
        """A mapping section of the spec (``search``, ``scheduler``, ...), {} when absent."""
        return _section(self.spec, key)

    @functools.cached_property
    def varying(self) -> list[str]:
        """Dotted config keys whose value differs between trials, in first-seen order."""
        return _varying(self.flat_configs.values())

    def table_columns(self) -> list[str]:
        """Config keys shown in tables: the plotted hyperparameters, then other varying keys."""
        keys = [p.key for p in self.params]
        for key in self.varying:
            if key not in keys:
                keys.append(key)
        return keys[:TOP_CONFIG_COLUMNS]

    def reproduce_command(self, trial: TrialRecord | None = None) -> str | None:
        """``hpo sweep <spec> --set ...`` that reruns a trial's config once, for max_t (default the best's)."""
        chosen = trial if trial is not None else self.best
        if chosen is None:
            return None
        suffix = "best" if trial is None else trial.trial_id
        spec_ref = str(self.spec.get("source") or "spec.yaml")
        args = ["hpo", "sweep", spec_ref, "--name", f"{self.sweep.name}-{suffix}",
                "--set", "search.algorithm=random", "--set", "search.num_samples=1",
                "--set", "scheduler.type=fifo"]
        params = self.spec.get("params")
        keys = list(params) if isinstance(params, dict) else [k for k in chosen.config if k not in
                                                                    self.section("fixed")]
        for key in keys:
            if key in chosen.config:
                args += ["--set", f"params.{key}={flow_text(chosen.config[key])}"]
        return " ".join(shlex.quote(arg) for arg in args)


def flow_text(value: Any) -> str:
    """A value as one line of flow-style YAML (what ``--set key=VALUE`` reads back)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def yaml_text(value: Any) -> str:
    """Block YAML of a config or mapping, in its own key order."""
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True).strip()


def _varying(configs: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for config in configs:
        for key, value in config.items():
            seen.setdefault(key, set()).add(repr(value))
    return [key for key, values in seen.items() if len(values) > 1]


def _axes_from_configs(configs: list[dict[str, Any]], varying: list[str]) -> list[ParamAxis]:
    axes = []
    for key in varying:
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a report is read and drawn (as it was before, after).

    A big sweep's records are hundreds of thousands of objects, none in a cycle, and matplotlib allocates
    enough to set off full collections that walk them all: a third of a second of a 10,000-trial report.
    Memory is no concern: what a report makes without cycles is freed as it goes, the figures (cycles)
    at the first collection after it.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def gather(store: Store, name: str) -> ReportData:
    """Read one sweep's report data from the store: every trial; every result, or past
    ``SAMPLE_ABOVE`` trials the results of the trials the plots draw (see ``_sample``).

    Raises:
        SweepNotFoundError: no such sweep.
    """
    sweep = store.get_sweep(name)
    spec = parse_spec(sweep.spec_yaml)
    every = store.trials(name, replaced=True)
    trials = [t for t in every if t.replaced_by is None]
    replaced = [t for t in every if t.replaced_by is not None]
    plan = plan_of(sweep, spec)
    sample = sample_trials(trials, keep=_pareto_set(sweep, plan, trials) if len(trials) > SAMPLE_ABOVE else ())
    progress = None
    if sample.sampled:
        results = store.results_frame(name, trial_ids=[t.trial_id for t in sample.drawn])
        progress = _progress(store, name, trials, sweep.mode)
    else:
        results = store.results_frame(name)  # a replaced trial's results left out
    from hpo.results.analysis.confirm import confirmation

    # Only PBT and PB2 record exploits: other sweeps skip the scan of every result's metrics for them.
    exploits = str(_section(spec, "scheduler").get("type", "pbt")) in ("pbt", "pb2")
    data = ReportData(sweep=sweep, store_url=store.url_masked, spec=spec, trials=trials, results=results,
                      params=[], lineage=store.lineage(name) if exploits else [],
                      confirmation=confirmation(store, name), sample=sample, progress=progress, replaced=replaced)
    axes = axes_of(plan)
    if axes is None:
        axes = _axes_from_configs(list(data.flat_configs.values()), data.varying)
    data.params = [a for a in axes if a.key in set(data.varying)]
    return data


def _pareto_set(sweep: SweepRecord, plan: dict[str, Any] | None, trials: list[TrialRecord]) -> list[str]:
    """The ids of the Pareto set of a sweep with several objectives ([] with one): drawn whatever the sample."""
    from hpo.results.analysis.pareto import objectives_of, pareto_front

    objectives = objectives_of(sweep, plan)
    return [t.trial_id for t in pareto_front(trials, objectives)] if len(objectives) > 1 else []


def _section(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    return value if isinstance(value, dict) else {}


def _progress(store: Store, name: str, trials: list[TrialRecord], mode: str) -> Progress:
    """The results best-so-far needs: those of each trial that could have set a new best. A trial sets one
    only with a value better than every result before it, so its own best must beat (or tie) every other
    trial's best recorded before it started; the rest never move the staircase."""
    import numpy as np

    sign = 1.0 if mode == "min" else -1.0
    marks = store.trial_marks(name)
    known = sorted((at, sign * best) for _, best, at, _ in marks if best is not None and at is not None)
    times = np.array([at for at, _ in known], dtype=float)
    prefix = np.minimum.accumulate(np.array([value for _, value in known], dtype=float)) if known else times
    started = {t.trial_id: t.started.timestamp() if t.started else None for t in trials}
    candidates = []
    for trial_id, best, _, _ in marks:
        if best is None:
            continue
        start = started.get(trial_id)
        before = int(np.searchsorted(times, start, side="left")) if start is not None else 0
        if before == 0 or sign * best <= prefix[before - 1]:
            candidates.append(trial_id)
    lasts = [last for *_, last in marks if last is not None]
    frame = store.results_frame(name, trial_ids=candidates)
    return Progress(frame=frame, last=max(lasts) if lasts else None)


def param_importance(store: Store, name: str, *, evaluator: str = "ped_anova") -> list[Importance]:
    """Sweep ``name``'s param importance per rung, as its report shows it (read from the store as the
    report reads it).

    Raises:
        SweepNotFoundError: no such sweep.
    """
    return gather(store, name).estimate_importance(evaluator=evaluator)
