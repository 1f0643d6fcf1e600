"""``hpo refine``: the next sweep's spec, written from a finished one.

What a person does by hand after a sweep, with the numbers said in YAML comments:

- each numeric range narrowed to where the top quantile of trials lies (log and pow2 kept; a margin
  of a tenth of that span on each side, rounded outward to three significant digits, inside the old
  bounds);
- choice (and grid) values that never reached the top quantile dropped;
- params of low importance (Optuna's PED-ANOVA, as the report computes it, at the rung with the most
  trials) frozen
  at the best trial's value, moved to ``fixed``;
- a warm start from the parent, so the new sweep's searcher knows every earlier result (random and
  grid become optuna: their warm start would re-run those trials rather than learn from them).

The written spec is validated before it is returned; ``hpo sweep`` runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from hpo.results import Store, TrialRecord, best_first, flow_text, param_importance
from hpo.search.engine.driver import driver_alive
from hpo.search.engine.store import free_name, spec_of
from hpo.search.errors import SweepInputError
from hpo.spaces import SweepSpec, parse_spec
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param, node_to_data
from hpo.spaces.points import match_option

__all__ = ["MIN_TRIALS", "Refinement", "refine_spec"]

MIN_TRIALS = 10  # fewer finished trials cannot tell a good region from luck
MIN_TOP = 3  # the top quantile holds at least this many trials
_MARGIN = 0.1  # of the top trials' span, added on each side
_SIG = 3  # significant digits of narrowed bounds


@dataclass(frozen=True)
class Change:
    """One thing refine changed (or kept), with its reason: the YAML comment above it."""

    path: str
    kind: str  # narrowed | dropped | frozen | kept | search
    reason: str


@dataclass(frozen=True)
class Refinement:
    """A refined spec and how it came about.

    Attributes:
        parent: The sweep it was refined from.
        spec: The refined spec, validated.
        text: Its YAML, each change preceded by a comment giving its reason and numbers.
        changes: Every change, in the order the YAML has them.
        finished: The parent's finished trials (completed or stopped early) with a metric value.
        top: How many of them form the top quantile.
    """

    parent: str
    spec: SweepSpec
    text: str
    changes: list[Change] = field(default_factory=list)
    finished: int = 0
    top: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """How many params each kind of change touched (``narrowed``, ``kept``...), in the order they first occur."""
        found: dict[str, int] = {}
        for change in self.changes:
            found[change.kind] = found.get(change.kind, 0) + 1
        return found


def _g(value: float) -> str:
    return f"{value:.4g}"


def _round_out(value: float, *, up: bool) -> float:
    """``value`` to ``_SIG`` significant digits, rounded away from the inside of the range."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (math.floor(math.log10(abs(value))) - _SIG + 1)
    return (math.ceil if up else math.floor)(value / scale) * scale


def _tidy(value: float) -> float:
    return float(f"{value:.{_SIG + 2}g}")


def _narrow_numeric(key: str, node: FloatParam | IntParam, values: list[float], top: int) -> tuple[Any, Change]:
    log = node.log
    to = (lambda v: math.log10(v)) if log else (lambda v: v)
    back = (lambda v: 10**v) if log else (lambda v: v)
    lo, hi = to(min(values)), to(max(values))
    span = hi - lo if hi > lo else (to(node.high) - to(node.low)) * 0.05
    new_lo = max(node.low, back(lo - _MARGIN * span))
    new_hi = min(node.high, back(hi + _MARGIN * span))
    was = f"was [{_g(node.low)}, {_g(node.high)}]" + (", log" if log else "")
    where = f"the top {top} lie in [{_g(min(values))}, {_g(max(values))}]"
    if isinstance(node, IntParam):
        step = node.step or 1
        new_lo = node.low + math.floor((new_lo - node.low) / step) * step
        new_hi = node.low + math.ceil((new_hi - node.low) / step) * step
        new_lo, new_hi = int(max(node.low, new_lo)), int(min(node.high, new_hi))
    elif node.step is not None:
        new_lo = node.low + math.floor((new_lo - node.low) / node.step + 1e-9) * node.step
        new_hi = node.low + math.ceil((new_hi - node.low) / node.step - 1e-9) * node.step
        new_lo, new_hi = _tidy(max(node.low, new_lo)), _tidy(min(node.high, new_hi))
    else:
        new_lo = _tidy(max(node.low, _round_out(new_lo, up=False)))
        new_hi = _tidy(min(node.high, _round_out(new_hi, up=True)))
    if new_lo >= new_hi:
        value = values[0]
        return value, Change(key, "frozen", f"frozen: {where}, one value ({was})")
    old_width, new_width = to(node.high) - to(node.low), to(new_hi) - to(new_lo)
    if new_width >= 0.9 * old_width:
        return node_to_data(node), Change(key, "kept", f"kept: {where}, most of the range ({was})")
    data = node_to_data(node) | {"low": new_lo, "high": new_hi}
    share = f"{new_width / old_width:.0%} of the old {'log-' if log else ''}width"
    return data, Change(key, "narrowed", f"narrowed: {where}; {was}; now {share}")


def _narrow_pow2(key: str, node: Pow2Param, values: list[int], top: int) -> tuple[Any, Change]:
    lo, hi = min(values), max(values)
    where = f"the top {top} lie in [{lo}, {hi}]"
    was = f"was [{node.low}, {node.high}] (pow2)"
    if lo == hi:
        return lo, Change(key, "frozen", f"frozen: {where}, one value ({was})")
    if (lo, hi) == (min(node.values()), max(node.values())):
        return node_to_data(node), Change(key, "kept", f"kept: {where}, the whole range ({was})")
    return node_to_data(node) | {"low": lo, "high": hi}, Change(key, "narrowed", f"narrowed: {where}; {was}")


def _narrow_choice(key: str, node: ChoiceParam | GridParam, values: list[Any], top: int) -> tuple[Any, Change]:
    hits = [0] * len(node.values)
    for value in values:
        index = match_option(node, value) if isinstance(node, ChoiceParam) else (
            node.values.index(value) if value in node.values else None)
        if index is not None:
            hits[index] += 1
    label = [_label(v) for v in node.values]
    counts = ", ".join(f"{label[i]}: {n}" for i, n in enumerate(hits) if n)
    kept = [i for i, n in enumerate(hits) if n]
    dropped = [label[i] for i, n in enumerate(hits) if not n]
    if not kept:
        return node_to_data(node), Change(key, "kept", f"kept: no top trial has a value here ({len(values)} seen)")
    if len(kept) == 1:
        only = f"frozen: only {label[kept[0]]} reached the top {top} ({counts}); dropped {', '.join(dropped)}"
        return node_to_data(node.values[kept[0]]), Change(key, "frozen", only)
    if not dropped:
        return node_to_data(node), Change(key, "kept", f"kept: every value reached the top {top} ({counts})")
    data = {"type": node.type, "values": [node_to_data(node.values[i]) for i in kept]}
    return data, Change(key, "dropped", f"dropped {', '.join(dropped)}: not in the top {top} ({counts})")


def _label(option: Any) -> str:
    if isinstance(option, dict):
        return str(option.get("name", "group"))
    return str(option)


def _check(record: Any, spec: SweepSpec) -> None:
    name = record.name
    if record.status == "running" and driver_alive(record):
        raise SweepInputError(f"sweep {name!r} is still running; refine it once it has finished")
    if len(spec.objectives) > 1:
        goals = ", ".join(m for m, _ in spec.objectives)
        raise SweepInputError(f"sweep {name!r} has several objectives ({goals}): there is no single top quantile to "
                              f"narrow to; `hpo extend {name} --samples N` goes on searching its Pareto front instead")
    if spec.scheduler.exploits:
        raise SweepInputError(f"sweep {name!r} ran {spec.scheduler.type}: its trials' configs changed as they "
                              "trained, so a config does not explain a score; refine needs a sweep of fixed configs")
    if spec.confirm is not None:
        raise SweepInputError(f"sweep {name!r} is a confirmation of {spec.confirm.sweep!r} (a few configs re-run); "
                              f"refine {spec.confirm.sweep!r} instead")


def _importances(store: Store, name: str) -> tuple[dict[str, float], str]:
    found = param_importance(store, name)
    if not found:
        return {}, "importance: too few trials at every rung to compute it; nothing frozen for low importance"
    # The rung with the most trials: under ASHA the last rung holds only the survivors, already alike.
    chosen = max(found, key=lambda imp: (imp.trials, imp.rung))
    return dict(chosen.values), (f"importance: PED-ANOVA at iteration {chosen.rung} over {chosen.trials} trials "
                                 "(the report's rung with the most trials)")


def _importance_of(values: dict[str, float], key: str) -> float | None:
    hits = [v for k, v in values.items() if k == key or k.startswith(f"{key}.")]
    return sum(hits) if hits else None


def refine_spec(
    name: str,
    *,
    store: Store,
    quantile: float = 0.25,
    freeze_below: float = 0.05,
    child: str | None = None,
    samples: int | None = None,
) -> Refinement:
    """Write the next sweep's spec from the finished sweep ``name`` (nothing runs).

    Args:
        name: The parent sweep.
        store: The store holding it.
        quantile: The share of finished trials (best first) that counts as the good region (at least 3).
        freeze_below: Params whose importance is below this share are frozen at the best trial's value.
        child: The new sweep's name; default ``<name>-refined`` (``-refined2``... when taken).
        samples: Its trials; default the parent's ``num_samples``.

    Raises:
        results.SweepNotFoundError: no sweep ``name``.
        SweepInputError: it is running, has several objectives, ran PBT, is a confirmation, or has
            fewer than ``MIN_TRIALS`` finished trials; ``quantile`` not in (0, 1].
    """
    if not 0 < quantile <= 1:
        raise SweepInputError(f"--quantile must be in (0, 1], got {quantile}")
    record = store.get_sweep(name)
    parent = spec_of(record)
    _check(record, parent)
    ranked = _ranked(store, parent, name)
    top_n = min(len(ranked), max(MIN_TOP, math.ceil(quantile * len(ranked))))
    importances, importance_note = _importances(store, name)
    params, fixed, changes = _narrowed(parent, ranked[:top_n])
    _freeze_unimportant(parent, params, fixed, changes, importances, ranked[0], freeze_below)
    search, search_note = _next_search(parent, name, samples=samples, finished=len(ranked))
    data = parent.to_dict()
    data.update(name=child or free_name(store, f"{name}-refined"), search=search, params=params, fixed=fixed)
    header = [f"refined from sweep {name!r} by `hpo refine {name}` on {date.today().isoformat()}: "
              f"{len(ranked)} finished trials, the top {top_n} ({quantile:.0%}) by {parent.metric} ({parent.mode}) "
              f"are the good region; best {parent.metric} {_g(float(ranked[0].last_metric or 0))} "
              f"(trial {ranked[0].trial_id})",
              importance_note + (f"; params below {freeze_below:g} are frozen" if importances else "")]
    text = _render(data, header=header, search_note=search_note, changes=changes)
    spec = parse_spec(yaml.safe_load(text), source=f"refine:{name}")
    return Refinement(parent=name, spec=spec, text=text, changes=changes, finished=len(ranked), top=top_n)


def _ranked(store: Store, parent: SweepSpec, name: str) -> list[TrialRecord]:
    """The parent's finished trials, best first; refused when too few to tell a good region from luck."""
    ranked = best_first((t for t in store.trials(name) if t.status in ("completed", "stopped_early")),
                        mode=parent.mode)
    if len(ranked) < MIN_TRIALS:
        raise SweepInputError(f"sweep {name!r} has {len(ranked)} finished trial(s) with a "
                              f"{parent.metric}; refine needs at least {MIN_TRIALS} to tell a good region from luck "
                              f"(`hpo extend {name} --samples N` adds trials)")
    return ranked


def _narrowed(parent: SweepSpec, top: list[TrialRecord]) -> tuple[dict[str, Any], dict[str, Any], list[Change]]:
    """Each param narrowed to where the ``top`` trials lie: the new params, the new fixed values, the changes."""
    params: dict[str, Any] = {}
    fixed: dict[str, Any] = dict(parent.fixed)
    changes: list[Change] = []
    for key, node in parent.params.items():
        values = [t.config[key] for t in top if key in t.config]
        if isinstance(node, FloatParam | IntParam) and values:
            data, change = _narrow_numeric(key, node, [float(v) for v in values], len(top))
        elif isinstance(node, Pow2Param) and values:
            data, change = _narrow_pow2(key, node, [int(v) for v in values], len(top))
        elif isinstance(node, ChoiceParam | GridParam):
            data, change = _narrow_choice(key, node, values, len(top))
        else:
            data, change = node_to_data(node), Change(key, "kept", "")
        if change.kind == "frozen":
            fixed[key] = data
        else:
            params[key] = data
        changes.append(change)
    return params, fixed, changes


def _next_search(parent: SweepSpec, name: str, *, samples: int | None,
                 finished: int) -> tuple[dict[str, Any], list[str]]:
    """The new sweep's ``search`` section (warm-started from ``name``) and the comments that explain it."""
    search = parent.search.model_dump(mode="json")
    search.update(num_samples=samples or parent.search.num_samples, seed=(parent.search.seed or 0) + 1,
                  points_to_evaluate=[], warm_start={"sweep": name})
    note = [f"warm start from {name!r}: its {finished} finished trials seed the searcher (those outside "
            "the new ranges are dropped)"]
    if parent.search.algorithm in ("random", "grid"):
        search.update(algorithm="optuna", sampler=None)
        note.append(f"optuna (was {parent.search.algorithm}): a random or grid warm start would re-run the "
                    "earlier trials; optuna learns from them")
    if parent.search.points_to_evaluate:
        note.append(f"points_to_evaluate dropped ({len(parent.search.points_to_evaluate)}): they ran in "
                    f"{name!r} and reach the searcher through the warm start")
    return {k: v for k, v in search.items() if v is not None or k == "max_concurrent"}, note


def _freeze_unimportant(parent: SweepSpec, params: dict[str, Any], fixed: dict[str, Any], changes: list[Change],
                        importances: dict[str, float], best: TrialRecord, below: float) -> None:
    """Move params of importance < ``below`` to ``fixed`` at the best trial's value; one searched param stays."""
    searched = [k for k in params if isinstance(parent.params.get(k), FloatParam | IntParam | Pow2Param
                                                  | ChoiceParam | GridParam)]
    scored = {k: v for k in searched if (v := _importance_of(importances, k)) is not None}
    if not scored:
        return
    keep = max(scored, key=lambda k: scored[k])
    for key, value in scored.items():
        if key == keep or value >= below or key not in best.config:
            continue
        del params[key]
        fixed[key] = best.config[key]
        index = next(i for i, c in enumerate(changes) if c.path == key)
        earlier = changes[index].reason
        changes[index] = Change(key, "frozen", f"frozen at the best trial's value: importance {value:.3f} < "
                                               f"{below:g}" + (f" (else {earlier})" if earlier else ""))


def _render(data: dict[str, Any], *, header: list[str], search_note: list[str], changes: list[Change]) -> str:
    """The spec as YAML: the header and each change as comments, params and fixed one key per line."""
    reasons = {c.path: c.reason for c in changes if c.reason}
    lines = [f"# {line}" for line in header]
    for key, value in data.items():
        if key in ("params", "fixed"):
            lines.append(f"{key}:" + ("" if value else " {}"))
            for name, node in value.items():
                if name in reasons:
                    lines.append(f"  # {reasons[name]}")
                lines.append(f"  {name}: {flow_text(node)}")
            continue
        if key == "search":
            lines += [f"# {note}" for note in search_note]
        if isinstance(value, dict | list) and value:
            lines.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=None, width=120).rstrip())
        else:
            lines.append(f"{key}: {flow_text(value)}")
    return "\n".join(lines) + "\n"
