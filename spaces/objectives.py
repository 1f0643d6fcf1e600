"""Rules for what a sweep optimises: one metric, or several objectives (``metrics:``), and who can.

Several objectives have no single best trial: the sweep's answer is the Pareto set. Searchers
and schedulers that rank trials by one number cannot take part; they are refused here, before
Ray starts, rather than silently optimising the first objective.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MULTI_OBJECTIVE_SAMPLERS", "objective_problems"]

# Optuna samplers that take several objectives (CMA-ES is single-objective only).
MULTI_OBJECTIVE_SAMPLERS = ("tpe", "nsga2", "gp", "random")


def _names(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        return []
    return [str(m.get("name")) for m in raw if isinstance(m, dict) and m.get("name")]


def objective_problems(head: dict[str, Any], sections: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with the objectives and the sampler, as ``(dotted path, message)`` pairs.

    Args:
        head: The spec's top-level keys as written (``metric``, ``mode``, ``metrics``...).
        sections: The validated (or salvaged) sections by name (``search``, ``scheduler``).
    """
    problems: list[tuple[str, str]] = []
    search, scheduler = sections.get("search"), sections.get("scheduler")
    if search is not None and search.sampler is not None and search.algorithm != "optuna":
        problems.append(("search.sampler", f"only for algorithm: optuna, got algorithm: {search.algorithm}; "
                                           "drop sampler, or use algorithm: optuna"))
    raw = head.get("metrics")
    if raw is None:
        return problems
    written = [k for k in ("metric", "mode") if k in head]
    if written:
        problems.append(("metrics", f"give either metric/mode or metrics, not both; got {' and '.join(written)} "
                                    "beside metrics (metric/mode are the first of metrics)"))
    names = _names(raw)
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append((f"metrics[{i}].name", f"{name!r} is already an objective; list each metric once"))
    if not isinstance(raw, list) or len(raw) < 2:
        return problems
    several = f"got {len(raw)} objectives in metrics ({', '.join(names)})"
    if search is not None and search.algorithm == "hyperopt":
        problems.append(("search.algorithm", f"hyperopt optimises one metric, {several}; "
                                             "use algorithm: optuna (sampler tpe or nsga2), random or grid"))
    if search is not None and search.algorithm == "optuna" and search.sampler not in (None, *MULTI_OBJECTIVE_SAMPLERS):
        problems.append(("search.sampler", f"{search.sampler} optimises one metric, {several}; "
                                           f"use sampler: {', '.join(MULTI_OBJECTIVE_SAMPLERS)}"))
    if scheduler is not None and scheduler.type != "fifo":
        problems.append(("scheduler.type", f"{scheduler.type} ranks trials by one metric, {several}; "
                                           "use type: fifo (every trial runs to its cap)"))
    return problems
