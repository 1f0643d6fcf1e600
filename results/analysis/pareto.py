"""Several objectives: the Pareto set of a sweep's trials, read from the stored plan's objectives.

A trial's objective values are those of its last reported result (what the searcher was told
when it ended); trials missing an objective, or with a non-finite value, are left out. A trial is
on the front when no other trial is at least as good on every objective and better on one.
"""

from __future__ import annotations

from typing import Any

from hpo.results.store.records import SweepRecord, TrialRecord, finite

__all__ = ["objective_values", "objectives_of", "pareto_front"]


def objectives_of(record: SweepRecord, plan: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """The sweep's objectives as ``(metric, mode)``: the stored plan's, else the sweep's one metric."""
    plan = plan if plan is not None else getattr(record, "plan", None)
    found = plan.get("objectives") if isinstance(plan, dict) else None
    if isinstance(found, list) and found:
        return [(str(m), str(d)) for m, d in found]
    return [(record.metric, record.mode)]


def objective_values(trial: TrialRecord, objectives: list[tuple[str, str]]) -> tuple[float, ...] | None:
    """The trial's last value of each objective, None when one is missing or not finite."""
    values = [finite(trial.last_result.get(metric)) for metric, _ in objectives]
    return None if any(v is None for v in values) else tuple(v for v in values if v is not None)


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def pareto_front(trials: list[TrialRecord], objectives: list[tuple[str, str]]) -> list[TrialRecord]:
    """The non-dominated trials, best first by the first objective (ties: by trial id)."""
    signs = [1.0 if mode == "min" else -1.0 for _, mode in objectives]
    scored = []
    for trial in trials:
        values = objective_values(trial, objectives)
        if values is not None:
            scored.append((tuple(s * v for s, v in zip(signs, values, strict=True)), trial))
    # In lexicographic order a trial's dominators all come before it, and whatever dominates it, some member of
    # the front does too: so each trial is checked against the front found so far, not against every trial
    # (10,000 trials: a second, not minutes).
    scored.sort(key=lambda item: (item[0], item[1].trial_id))
    front: list[tuple[tuple[float, ...], TrialRecord]] = []
    for key, trial in scored:
        if not any(_dominates(other, key) for other, _ in front):
            front.append((key, trial))
    return [t for _, t in front]
