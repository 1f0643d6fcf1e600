"""The dashboard's data as JSON-ready dicts: the sweep list, one sweep, and a comparison of several."""

from __future__ import annotations

from typing import Any

from hpo.results.analysis.cost import sweep_cost, trial_cost
from hpo.results.analysis.plan import budget_of
from hpo.results.report.data import ReportData, parse_spec
from hpo.results.store.ranking import better
from hpo.results.store.records import TrialRecord, iso
from hpo.results.store.store import Store

__all__ = ["budget", "compare_series", "sweep_list", "sweep_payload"]


def budget(data: ReportData) -> dict[str, Any]:
    """Budget used against planned, in the plan's time units (training iterations by default); the planned
    budget as the stored plan has it (none for a sweep recorded without a plan)."""
    plan = data.plan or {}
    planned = budget_of(plan)
    return {
        "time_attr": plan.get("time_attr", "training_iteration"),
        "used": sum(t.iterations for t in data.trials),
        "expected": planned.expected,
        "full": planned.full,
        "trials_started": len(data.trials),
        "trials_planned": plan.get("trials"),
    }


def _trial(data: ReportData, trial: TrialRecord) -> dict[str, Any]:
    return {**trial.to_dict(), **trial_cost(trial, data.plan, until=data.sweep.ended_at).to_dict()}


def sweep_payload(data: ReportData) -> dict[str, Any]:
    """Everything ``/sweeps/NAME`` shows, for ``/api/sweeps/NAME``."""
    sweep = {**data.sweep.to_dict(), "store": data.store_url}
    return {
        "sweep": sweep,
        "plan": data.plan,
        "budget": budget(data),
        "cost": data.cost.to_dict(),
        "best": data.best.to_dict() if data.best else None,
        "importance": [imp.to_dict() for imp in data.importance],
        "confirmation": data.confirmation.to_dict() if data.confirmation else None,
        "errors": [group.to_dict() for group in data.errors],
        "replaced": [_trial(data, t) for t in data.replaced],
        "trials": [_trial(data, t) for t in data.trials],
    }


def sweep_list(store: Store) -> list[dict[str, Any]]:
    """Every sweep: status, counts, best, started, cost (``/`` and ``/api/sweeps``)."""
    out = []
    for sweep in store.sweeps():
        every = store.trials(sweep.name, replaced=True)
        trials = [t for t in every if t.replaced_by is None]  # a replaced trial is not counted
        best = trials[0] if trials and trials[0].last_metric is not None else None
        cost = sweep_cost(sweep, every, parse_spec(sweep.spec_yaml))  # a replaced trial ran: it cost
        counts = dict.fromkeys(sweep.counts, 0)
        for trial in trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        out.append({"name": sweep.name, "status": sweep.status, "lost": sweep.lost, "metric": sweep.metric,
                    "mode": sweep.mode, "counts": counts, "trials": len(trials),
                    "best": best.last_metric if best else None, "best_trial": best.trial_id if best else None,
                    "started": iso(sweep.started), "finished": iso(sweep.finished), **cost.to_dict()})
    return out


def compare_series(data: ReportData) -> dict[str, Any]:
    """Best so far after each finished trial (in end order), with cumulative trials and GPU/CPU-hours."""
    done = sorted((t for t in data.trials if t.ended is not None and t.last_metric is not None),
                  key=lambda t: t.ended)  # type: ignore[arg-type, return-value]
    best: float | None = None
    xs_trials, xs_gpu, xs_cpu, ys = [], [], [], []
    gpu = cpu = 0.0
    for index, trial in enumerate(done, start=1):
        cost = trial_cost(trial, data.plan, until=data.sweep.ended_at)
        gpu += cost.gpu_hours or 0.0
        cpu += cost.cpu_hours or 0.0
        value = float(trial.last_metric)  # type: ignore[arg-type]
        if better(value, best, mode=data.sweep.mode):
            best = value
        xs_trials.append(index)
        xs_gpu.append(gpu)
        xs_cpu.append(cpu)
        ys.append(best)
    return {"name": data.sweep.name, "metric": data.sweep.metric, "mode": data.sweep.mode,
            "errored": len(data.errored), "trials": xs_trials, "gpu_hours": xs_gpu, "cpu_hours": xs_cpu, "best": ys}
