"""Evaluated points from the store: an earlier sweep's trials seed a searcher (warm start, extend).

Read from the store's rows (configs and metric values), never from Ray's pickled searcher
state, so an old sweep stays usable across Ray upgrades. A point that does not fit the new
space is dropped, and the summary says how many and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hpo.results import Store, SweepNotFoundError, best_first
from hpo.results.report.sections import trainable_text
from hpo.search.errors import SweepInputError
from hpo.spaces import SweepSpec
from hpo.spaces.points import point_from_config, point_problems

__all__ = ["EvaluatedPoints", "evaluated_points", "warm_start_points"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluatedPoints:
    """Configs (the searched part) with the metric value each reached, best first.

    Attributes:
        source: The sweep they come from.
        points: The configs that fit the space.
        values: The metric value of each point (the trial's last value, the store's default scope).
        considered: Trials with a metric value that were looked at.
        dropped: Per dotted path that broke: how many points it dropped, and the first one's problem.
    """

    source: str
    points: list[dict[str, Any]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    considered: int = 0
    dropped: dict[str, tuple[int, str]] = field(default_factory=dict)

    def summary(self, *, what: str = "warm start") -> str:
        """One line: how many points seed the searcher, how many were dropped and why."""
        line = f"{what} from sweep {self.source!r}: {len(self.points)} of {self.considered} trial(s) seed the searcher"
        if self.dropped:
            reasons = "; ".join(f"{path}: {n}, e.g. {example}" for path, (n, example) in self.dropped.items())
            line += f"; {self.considered - len(self.points)} dropped, not fitting this space ({reasons})"
        return line


def evaluated_points(spec: SweepSpec, store: Store, *, sweep: str, top_k: int | None = None) -> EvaluatedPoints:
    """The trials of ``sweep`` as evaluated points of ``spec``'s space (best ``top_k``, or all)."""
    need_all = spec.search.algorithm != "random"  # a model-based searcher needs every searched value
    ranked = best_first(store.trials(sweep), mode=spec.mode)
    if top_k is not None:
        ranked = ranked[:top_k]
    points, values = [], []
    dropped: dict[str, tuple[int, str]] = {}
    for trial in ranked:
        point = point_from_config(spec.params, trial.config)
        problems = point_problems(point, spec.params, "params", need_all=need_all)
        if problems:
            path, message = problems[0]
            count, example = dropped.get(path, (0, message))
            dropped[path] = (count + 1, example)
            continue
        points.append(point)
        values.append(float(trial.last_metric))  # type: ignore[arg-type]
    return EvaluatedPoints(source=sweep, points=points, values=values, considered=len(ranked), dropped=dropped)


def _trainable_of(spec_yaml: str | None) -> Any:
    import yaml

    try:
        data = yaml.safe_load(spec_yaml or "") or {}
    except yaml.YAMLError:
        return None
    return data.get("trainable") if isinstance(data, dict) else None


def warm_start_points(spec: SweepSpec, store: Store) -> EvaluatedPoints | None:
    """``search.warm_start``'s points, checked: the earlier sweep exists and ran the same trainable
    and metric (and mode). None when the spec asks for no warm start.

    Raises:
        SweepInputError: an unknown sweep, or one of another trainable, metric or mode.
    """
    warm = spec.search.warm_start
    if warm is None:
        return None
    try:
        record = store.get_sweep(warm.sweep)
    except SweepNotFoundError:
        raise SweepInputError(f"search.warm_start.sweep: no sweep {warm.sweep!r} in {store.url_masked}; "
                              "`hpo ls` lists the sweeps") from None
    trainable = _trainable_of(record.spec_yaml)
    if trainable is not None and trainable != spec.to_dict()["trainable"]:
        raise SweepInputError(f"search.warm_start.sweep: sweep {warm.sweep!r} ran trainable "
                              f"{trainable_text(trainable)}, this one runs {spec.trainable_label}; warm start only "
                              "from a sweep of the same trainable")
    if (record.metric, record.mode) != (spec.metric, spec.mode):
        raise SweepInputError(f"search.warm_start.sweep: sweep {warm.sweep!r} optimised {record.metric} "
                              f"({record.mode}), this one {spec.metric} ({spec.mode}); warm start only from a sweep "
                              "of the same metric and mode")
    found = evaluated_points(spec, store, sweep=warm.sweep, top_k=warm.top_k)
    logger.warning("%s", found.summary())
    return found
