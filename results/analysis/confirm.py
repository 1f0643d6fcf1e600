"""A confirmation read from the store: each re-run config's mean and 95% interval over fresh seeds,
beside the score it had in its parent sweep, and whether the parent's ranking held.

A sweep's best trial is the maximum of many noisy measurements, so its own score is biased upward
(the winner's curse). ``hpo confirm`` re-runs the parent's top configs with fresh seeds to the full
budget (a child sweep whose spec has ``confirm: {sweep, top, seeds}``); this module pairs each child
trial with the parent trial of the same config (the ``seed`` key aside) and summarises.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from hpo.results.formatting import format_number
from hpo.results.store.ranking import best_first
from hpo.results.store.records import SweepRecord, TrialRecord, finite
from hpo.results.store.store import Store

__all__ = ["Confirmation", "ConfirmedConfig", "config_key", "confirmation", "confirmed_columns", "ranked_configs",
           "t_quantile"]

SEED_KEY = "seed"

# Student's t, two-sided 95% (the 0.975 quantile), for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_quantile(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (a 95% two-sided interval).

    Exact to three decimals from a table up to 30; beyond, the Cornish-Fisher expansion around the
    normal quantile (within 0.001 from 30 on).
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.12g}")
    return value


def config_key(config: dict[str, Any]) -> str:
    """A config without its ``seed``, as canonical JSON: the same text for the same hyperparameters."""
    rest = {k: v for k, v in config.items() if k != SEED_KEY}
    return json.dumps(_canonical(rest), sort_keys=True, default=str)


@dataclass(frozen=True)
class ConfirmedConfig:
    """One re-run config: its parent trial and score, and the values its fresh seeds reached.

    Attributes:
        trial_id: The parent trial whose config this is.
        config: That trial's config (its original seed included, if it had one).
        original: The parent trial's metric (last value), the score the sweep ranked it by.
        original_rank: Its rank among the parent's completed configs (1 = the sweep's best).
        values: The metric (last value) of each child trial that completed, by seed.
        seeds: The seed of each of ``values``.
        trials: The child trials that re-ran it, every status.
        unfinished: Child trials of it that did not complete (running, errored).
    """

    trial_id: str
    config: dict[str, Any]
    original: float | None
    original_rank: int
    values: tuple[float, ...] = ()
    seeds: tuple[int, ...] = ()
    trials: tuple[str, ...] = ()
    unfinished: int = 0

    @property
    def n(self) -> int:
        """Seeds that completed."""
        return len(self.values)

    @property
    def mean(self) -> float | None:
        """Mean over the completed seeds."""
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation over the seeds (needs two)."""
        return statistics.stdev(self.values) if self.n >= 2 else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of the mean (Student's t over the seeds); None with fewer than two."""
        if self.n < 2:
            return None
        half = t_quantile(self.n - 1) * (self.std or 0.0) / math.sqrt(self.n)
        mean = self.mean or 0.0
        return mean - half, mean + half

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        low, high = self.interval or (None, None)
        return {"trial_id": self.trial_id, "config": self.config, "original": self.original,
                "original_rank": self.original_rank, "mean": self.mean, "std": self.std, "low": low, "high": high,
                "n": self.n, "values": list(self.values), "seeds": list(self.seeds), "trials": list(self.trials),
                "unfinished": self.unfinished}


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class Confirmation:
    """A confirmation sweep summarised against its parent.

    Attributes:
        sweep: The confirmation (child) sweep.
        parent: The sweep whose top configs it re-ran.
        status: The child sweep's status.
        metric: The metric both sweeps rank by.
        mode: ``min`` or ``max``.
        top: How many configs were asked for.
        seeds: The seeds each config ran with.
        configs: The re-run configs, best confirmed mean first (configs with no completed seed last).
    """

    sweep: str
    parent: str
    status: str
    metric: str
    mode: str
    top: int
    seeds: tuple[int, ...]
    configs: list[ConfirmedConfig] = field(default_factory=list)

    @property
    def measured(self) -> list[ConfirmedConfig]:
        """Configs with at least one completed seed, best mean first."""
        return [c for c in self.configs if c.n]

    @property
    def winner(self) -> ConfirmedConfig | None:
        """The config with the best mean over seeds (None before any seed completed)."""
        measured = self.measured
        return measured[0] if measured else None

    @property
    def original_best(self) -> ConfirmedConfig | None:
        """The config the parent ranked first among those re-run."""
        return min(self.configs, key=lambda c: c.original_rank) if self.configs else None

    @property
    def order_changed(self) -> bool:
        """The confirmed order of the configs is not the parent's order."""
        measured = self.measured
        return [c.trial_id for c in measured] != [c.trial_id for c in sorted(measured, key=lambda c: c.original_rank)]

    @property
    def overlapping(self) -> list[ConfirmedConfig]:
        """The configs whose 95% interval overlaps the winner's: the seeds cannot tell them from it."""
        winner = self.winner
        if winner is None:
            return []
        return [c for c in self.measured[1:] if _overlap(winner.interval, c.interval)]

    @property
    def holds(self) -> bool:
        """The parent's ranking holds: same order, and the winner's interval clear of every other's."""
        return len(self.measured) >= 1 and not self.order_changed and not self.overlapping

    def verdict(self) -> list[str]:
        """What the confirmation says, one finding per line."""
        winner, first = self.winner, self.original_best
        if winner is None or first is None:
            return [f"no seed of {self.sweep} has completed yet"]
        lines = [f"confirmed best: trial {winner.trial_id} (original #{winner.original_rank}), {self.metric} "
                 f"{format_number(winner.mean)} over {winner.n} seed(s){_interval_text(winner)}"]
        if winner.trial_id != first.trial_id:
            place = next((i for i, c in enumerate(self.measured, start=1) if c.trial_id == first.trial_id), None)
            where = f"#{place} after confirmation" if place is not None else "without a completed seed"
            lines.append(f"the order changed: the original best, trial {first.trial_id}, is {where}")
        elif self.order_changed:
            lines.append("the order changed below the best: the original ranking does not hold")
        for other in self.overlapping:
            lines.append(f"the intervals overlap: trial {winner.trial_id}{_interval_text(winner)} and trial "
                         f"{other.trial_id}{_interval_text(other)}; {self.metric} cannot tell them apart with these "
                         "seeds (confirm with more --seeds)")
        if first.mean is not None and first.original is not None:
            lines.append(f"winner's curse: the original best scored {format_number(first.original)} in "
                         f"{self.parent}; over fresh seeds it reaches {format_number(first.mean)} "
                         f"({first.mean - first.original:+.4g})")
        if self.holds:
            lines.append(f"the original ranking holds: trial {winner.trial_id} stays best, its interval clear of "
                         "the others'")
        unfinished = sum(c.unfinished for c in self.configs)
        if unfinished:
            lines.append(f"{unfinished} re-run trial(s) did not complete and are left out")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the keys the report, ``hpo confirm`` and ``hpo best --confirmed`` share."""
        winner = self.winner
        return {"sweep": self.sweep, "parent": self.parent, "status": self.status, "metric": self.metric,
                "mode": self.mode, "top": self.top, "seeds": list(self.seeds), "confidence": 0.95,
                "winner": winner.trial_id if winner else None,
                "original_best": self.original_best.trial_id if self.original_best else None,
                "order_changed": self.order_changed, "overlapping": [c.trial_id for c in self.overlapping],
                "holds": self.holds, "verdict": self.verdict(), "configs": [c.to_dict() for c in self.configs]}


def _interval_text(config: ConfirmedConfig) -> str:
    interval = config.interval
    return "" if interval is None else f" [{format_number(interval[0])}, {format_number(interval[1])}]"


def _confirm_section(record: SweepRecord) -> dict[str, Any] | None:
    import yaml

    try:
        spec = yaml.safe_load(record.spec_yaml or "") or {}
    except yaml.YAMLError:
        return None
    section = spec.get("confirm") if isinstance(spec, dict) else None
    return section if isinstance(section, dict) and section.get("sweep") else None


def ranked_configs(parent: list[TrialRecord], mode: str) -> list[tuple[str, TrialRecord]]:
    """The parent's completed trials best first, one per distinct config (its best-ranked trial)."""
    seen: dict[str, TrialRecord] = {}
    for trial in best_first((t for t in parent if t.status == "completed"), mode=mode):
        seen.setdefault(config_key(trial.config), trial)
    return list(seen.items())


def analyse(store: Store, child: SweepRecord) -> Confirmation | None:
    """The confirmation ``child`` holds, or None when it is not a confirmation."""
    section = _confirm_section(child)
    if section is None:
        return None
    parent_name = str(section["sweep"])
    parent_trials = store.trials(parent_name) if store.find_sweep(parent_name) is not None else []
    ranked = ranked_configs(parent_trials, child.mode)
    rank_of = {key: (i, trial) for i, (key, trial) in enumerate(ranked, start=1)}
    groups: dict[str, list[TrialRecord]] = {}
    for trial in store.trials(child.name):
        groups.setdefault(config_key(trial.config), []).append(trial)
    configs = []
    for key, runs in groups.items():
        rank, origin = rank_of.get(key, (len(ranked) + 1, None))
        done = sorted((t for t in runs if t.status == "completed" and finite(t.last_metric) is not None),
                      key=lambda t: int(t.config.get(SEED_KEY) or 0))
        configs.append(ConfirmedConfig(
            trial_id=origin.trial_id if origin else runs[0].trial_id, config=origin.config if origin else
            {k: v for k, v in runs[0].config.items() if k != SEED_KEY},
            original=finite(origin.last_metric) if origin else None, original_rank=rank,
            values=tuple(float(t.last_metric) for t in done),  # type: ignore[arg-type]
            seeds=tuple(int(t.config.get(SEED_KEY) or 0) for t in done),
            trials=tuple(t.trial_id for t in runs), unfinished=len(runs) - len(done)))
    # Best confirmed mean first, ties (and configs with no finished run, last) by their original rank.
    configs.sort(key=lambda c: c.original_rank)
    configs = (best_first(configs, mode=child.mode, value=lambda c: c.mean)
               + [c for c in configs if finite(c.mean) is None])
    return Confirmation(sweep=child.name, parent=parent_name, status=child.status, metric=child.metric,
                        mode=child.mode, top=int(section.get("top") or len(configs)),
                        seeds=tuple(int(s) for s in section.get("seeds") or ()), configs=configs)


def confirmation(store: Store, name: str) -> Confirmation | None:
    """The confirmation of sweep ``name``: itself if it is one, else its latest confirmation; None when
    it has none.

    Raises:
        SweepNotFoundError: no sweep ``name``.
    """
    record = store.get_sweep(name)
    if record.parent is not None or _confirm_section(record) is not None:
        return analyse(store, record)
    for child in store.children(name):
        found = analyse(store, child)
        if found is not None:
            return found
    return None


def confirmed_columns(found: Confirmation | None) -> dict[str, dict[str, Any]]:
    """The CSV report's ``confirmed.*`` columns, by parent trial id: mean, interval and seeds of each re-run config."""
    if found is None:
        return {}
    out = {}
    for item in found.configs:
        low, high = item.interval or (None, None)
        out[item.trial_id] = {"confirmed.mean": item.mean, "confirmed.low": low, "confirmed.high": high,
                              "confirmed.n": item.n, "confirmed.sweep": found.sweep}
    return out
