"""From YAML to a checked ``SweepSpec``: every problem collected, then raised as one ``SpecError``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hpo.spaces.command import CommandSpec, command_shape_problems, metric_source_problems
from hpo.spaces.errors import SpecError
from hpo.spaces.models import (
    ClusterSpec,
    ConfirmSpec,
    FailuresSpec,
    ResourcesSpec,
    SchedulerSpec,
    SearchSpec,
    SweepSpec,
    TrackingSpec,
)
from hpo.spaces.mutations import mutable_paths
from hpo.spaces.objectives import objective_problems
from hpo.spaces.params import GridParam, describe_pydantic_error, did_you_mean, is_discrete, iter_params, parse_space
from hpo.spaces.points import point_problems
from hpo.spaces.yaml_io import apply_overrides, parse_yaml, read_spec_source

__all__ = ["load_spec", "parse_spec"]

_SECTIONS: dict[str, type[BaseModel]] = {
    "search": SearchSpec,
    "scheduler": SchedulerSpec,
    "resources": ResourcesSpec,
    "failures": FailuresSpec,
    "cluster": ClusterSpec,
    "tracking": TrackingSpec,
}
_MISSING = {
    "name": "required: the sweep's name, its key in the results store (e.g. name: cifar10-asha)",
    "trainable": 'required: a registry name such as cifar, an import path "package.module:function", '
                 "or a mapping with command: (a script to run)",
    "metric": "required: the reported value to optimise (e.g. metric: val_loss), "
              "or several objectives in metrics: [{name: ..., mode: ...}, ...]",
    "mode": "required: min or max",
}
_TRAINABLE_RE = re.compile(r"^[A-Za-z_][\w-]*$|^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_ADDRESS_RE = re.compile(r"^(auto|ray://[^\s:]+:\d+|[^\s:/]+:\d+)$")


# Keys written where Ray Tune's own code puts them (``HyperOptSearch(metric=..., mode=...)``): the hint
# says where they go in a spec instead of guessing a near-miss spelling.
_MOVED = {
    "search.metric": " (did you mean the top-level metric:? the searcher optimises the sweep's metric; "
                     "scheduler.metric gives the scheduler another)",
    "search.mode": " (did you mean the top-level mode:? the searcher follows the sweep's mode; "
                   "scheduler.mode goes with scheduler.metric)",
}


def _unknown(key: str, allowed: list[str], *, path: str = "") -> str:
    hint = _MOVED.get(path) or did_you_mean(key, allowed)
    return f"unknown key{hint}; allowed: {', '.join(allowed)}"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The (nested) section model that holds the key at ``loc``: ``tracking.wandb.x`` -> WandbSpec."""
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        inner = [t for t in getattr(field.annotation, "__args__", (field.annotation,)) if isinstance(t, type)
                 and issubclass(t, BaseModel)] if field is not None else []
        if not inner:
            break
        model = inner[0]
    return model


def _collect(exc: ValidationError, prefix: str, model: type[BaseModel], problems: list[tuple[str, str]]) -> None:
    for err in exc.errors():
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        if err["type"] == "extra_forbidden":
            allowed = list(_model_at(model, tuple(err["loc"])).model_fields)
            problems.append((path, _unknown(str(err["loc"][-1]), allowed, path=path)))
        elif err["type"] == "missing" and path in _MISSING:
            problems.append((path, _MISSING[path]))
        else:
            problems.append((path, describe_pydantic_error(err)))


def _salvage(model: type[BaseModel], raw: dict[str, Any], exc: ValidationError) -> BaseModel | None:
    """The section without the keys that failed, or None when even that does not validate."""
    bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    try:
        return model.model_validate({k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None


def _cross_checks(head: dict[str, Any], sections: dict[str, Any], params: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    search, scheduler = sections.get("search"), sections.get("scheduler")
    dists = list(iter_params(params))
    if search is not None:
        if search.algorithm in ("hyperopt", "optuna"):
            grids = [path for path, p in dists if isinstance(p, GridParam)]
            if grids:
                problems.append(("search.algorithm", f"{search.algorithm} cannot sample grid params "
                                 f"({', '.join(grids)}); use type: choice, or algorithm: random"))
            if not dists:
                problems.append(("params", f"{search.algorithm} needs at least one searched param; "
                                 "add one, or use algorithm: grid"))
        if search.algorithm == "grid":
            continuous = [path for path, p in dists if not is_discrete(p)]
            if continuous:
                problems.append(("search.algorithm", f"grid needs every param discrete, got continuous "
                                 f"{', '.join(continuous)} (float without step); give each a step, "
                                 "or use algorithm: random or hyperopt"))
        if search.warm_start is not None and search.algorithm == "grid":
            problems.append(("search.warm_start", "grid runs every combination whatever ran before; "
                             "warm start needs algorithm: optuna, hyperopt or random"))
        if search.warm_start is not None and isinstance(head.get("metrics"), list) and len(head["metrics"]) > 1:
            problems.append(("search.warm_start", "warm start seeds one objective; with several objectives "
                             "(metrics:) drop it, or extend the earlier sweep with `hpo extend`"))
        for i, point in enumerate(search.points_to_evaluate):
            problems += point_problems(point, params, f"search.points_to_evaluate[{i}]",
                                       need_all=search.algorithm == "hyperopt")
    if scheduler is not None and scheduler.type != "fifo" and scheduler.grace_period > scheduler.max_t:
        problems.append(("scheduler.grace_period", f"must be <= max_t, got grace_period={scheduler.grace_period}, "
                         f"max_t={scheduler.max_t}"))
    if scheduler is not None:
        problems += _exploit_checks(scheduler, search, params)
    if sections.get("confirm") is not None and scheduler is not None and scheduler.type != "fifo":
        problems.append(("scheduler.type", f"a confirmation runs every seed to the full budget: it needs fifo, "
                                           f"got {scheduler.type}"))
    for key in head.get("fixed") or {}:
        if key in params:
            problems.append((f"fixed.{key}", f"also a searched param (params.{key}); keep one of them"))
    trainable = head.get("trainable")
    if isinstance(trainable, str) and not _TRAINABLE_RE.match(trainable):
        problems.append(("trainable", f'must be a registry name or "package.module:function", got {trainable!r}'))
    cluster, resources = sections.get("cluster"), sections.get("resources")
    if cluster is not None:
        if cluster.address is not None and not _ADDRESS_RE.match(cluster.address):
            problems.append(("cluster.address", 'must be null, "auto", "ray://host:port" or "host:port", '
                             f"got {cluster.address!r}"))
        if resources is not None:
            asks = (("cpu", resources.cpu, cluster.num_cpus), ("gpu", resources.gpu, cluster.num_gpus))
            for unit, want, have in asks:
                if have is not None and want > have:
                    problems.append((f"resources.{unit}", f"a trial asks for {want:g} but cluster.num_{unit}s is "
                                     f"{have:g}; no trial could ever start"))
    return problems


def _ranking_checks(scheduler: SchedulerSpec | None, raw: Any, head: dict[str, Any]) -> list[tuple[str, str]]:
    """``scheduler.metric``/``mode``: both or neither, a scheduler that ranks, and not the sweep's metric backwards.

    ``raw`` is the scheduler section as written: a key given with a bad value (already reported) is
    not reported again as missing.
    """
    written = raw if isinstance(raw, dict) else {}
    if scheduler is None or any(written.get(k) is not None and getattr(scheduler, k) is None
                                for k in ("metric", "mode")):
        return []
    metric, mode = scheduler.metric, scheduler.mode
    if metric is None and mode is None:
        return []
    metrics = head.get("metrics")
    first = metrics[0] if isinstance(metrics, list) and metrics and isinstance(metrics[0], dict) else {}
    sweep_metric, sweep_mode = head.get("metric", first.get("name")), head.get("mode", first.get("mode"))
    if scheduler.type == "fifo":
        return [("scheduler.metric" if metric is not None else "scheduler.mode",
                 "fifo ranks no trials (it stops none early); drop scheduler.metric and scheduler.mode, "
                 "or use type: asha")]
    if metric is None:
        return [("scheduler.mode", f"needs scheduler.metric, the metric the scheduler ranks by; without one it "
                                   f"ranks by the sweep's {sweep_metric} ({sweep_mode}): drop scheduler.mode")]
    if mode is None:
        return [("scheduler.mode", f"required with scheduler.metric: min or max, the way the scheduler ranks "
                                   f"{metric!r}")]
    if metric == sweep_metric and sweep_mode in ("min", "max") and mode != sweep_mode:
        return [("scheduler.mode", f"the scheduler would rank {metric!r} {mode} while the sweep ranks it "
                                   f"{sweep_mode}, and stop the trials the sweep wants; drop scheduler.metric "
                                   "and scheduler.mode")]
    return []


def _exploit_checks(scheduler: SchedulerSpec, search: SearchSpec | None, params: dict[str, Any]
                    ) -> list[tuple[str, str]]:
    """PBT/PB2: a random search to start from, something to mutate, an interval a trial reaches."""
    kind = scheduler.type
    if not scheduler.exploits:
        if scheduler.mutate is not None:
            return [("scheduler.mutate", f"only pbt and pb2 mutate params, got scheduler.type: {kind}; "
                                         "drop mutate, or use type: pbt")]
        return []
    problems: list[tuple[str, str]] = []
    if search is not None and search.algorithm == "grid":
        problems.append(("scheduler.type", f"{kind} cannot run a grid search: it changes configs while trials "
                                           "run; use search.algorithm: random"))
    elif search is not None and search.algorithm != "random":
        problems.append(("scheduler.type", f"{kind} draws the first configs itself and cannot take "
                                           f"search.algorithm: {search.algorithm}; use search.algorithm: random"))
    can = mutable_paths(params, scheduler=kind)
    what = "float param without step" if kind == "pb2" else "float, int, pow2 or choice-of-constants param"
    if not can:
        problems.append(("params", f"{kind} needs a searched {what} to mutate, got none"))
    for i, name in enumerate(scheduler.mutate or ()):
        if name not in can:
            problems.append((f"scheduler.mutate[{i}]", f"{kind} cannot mutate {name!r} (it mutates a searched "
                                                       f"{what}); it can mutate: {', '.join(can) or 'none'}"))
    if scheduler.mutate == []:
        problems.append(("scheduler.mutate", f"{kind} needs at least one param to mutate; list some, "
                                             "or drop mutate to mutate every one it can"))
    interval = scheduler.perturbation_interval
    if interval is not None and interval >= scheduler.max_t:
        problems.append(("scheduler.perturbation_interval", f"must be < max_t, got perturbation_interval={interval}, "
                                                            f"max_t={scheduler.max_t}; no trial would ever be "
                                                            "exploited"))
    return problems


def _command_trainable(raw: Any, problems: list[tuple[str, str]]) -> CommandSpec | None:
    """A ``trainable:`` mapping checked on its own, its problems under ``trainable.*``; None when it has any."""
    found: list[tuple[str, str]] = []
    try:
        spec = CommandSpec.model_validate(raw)
    except ValidationError as exc:
        _collect(exc, "trainable", CommandSpec, found)
        spec = None
    if spec is not None:
        found += command_shape_problems(spec)
    problems += found
    return None if found else spec


def _needed_metrics(head: dict[str, Any], scheduler: SchedulerSpec | None) -> list[tuple[str, str]]:
    """``(path, name)`` of every metric the sweep reads: its objectives, then ``scheduler.metric``."""
    needed: list[tuple[str, str]] = []
    metrics = head.get("metrics")
    if isinstance(metrics, list):
        needed += [(f"metrics[{i}].name", m["name"]) for i, m in enumerate(metrics)
                   if isinstance(m, dict) and isinstance(m.get("name"), str)]
    elif isinstance(head.get("metric"), str):
        needed.append(("metric", head["metric"]))
    if scheduler is not None and scheduler.metric is not None:
        needed.append(("scheduler.metric", scheduler.metric))
    return needed


def _well_formed_name(name: Any, problems: list[tuple[str, str]]) -> str | None:
    """The spec's sweep name when nothing is wrong with it (for a name clash reported beside the problems)."""
    if not isinstance(name, str) or any(path == "name" for path, _ in problems):
        return None
    return name


def parse_spec(data: Any, *, source: str | None = None) -> SweepSpec:
    """Validate a spec mapping (as read from YAML) into a ``SweepSpec``.

    Raises:
        SpecError: listing every problem found, each by dotted path.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise SpecError([("", f"the top level must be a mapping (name, trainable, metric, ...), got {kind}")],
                        source=source)
    problems: list[tuple[str, str]] = []
    allowed = list(SweepSpec.model_fields)
    problems += [(str(key), _unknown(str(key), allowed)) for key in data if key not in allowed]

    sections: dict[str, Any] = {}
    partial: dict[str, Any] = {}  # sections with their bad keys dropped: still worth cross-checking
    for key, model in _SECTIONS.items():
        raw = data.get(key)
        if raw is None:
            sections[key] = model()
        elif not isinstance(raw, dict):
            problems.append((key, f"must be a mapping, got {raw!r}"))
        else:
            try:
                sections[key] = model.model_validate(raw)
            except ValidationError as exc:
                _collect(exc, key, model, problems)
                partial[key] = _salvage(model, raw, exc)
    raw_confirm = data.get("confirm")
    if raw_confirm is not None and not isinstance(raw_confirm, dict):
        problems.append(("confirm", f"must be a mapping (sweep, top, seeds), got {raw_confirm!r}"))
    elif raw_confirm is not None:
        try:
            sections["confirm"] = ConfirmSpec.model_validate(raw_confirm)
        except ValidationError as exc:
            _collect(exc, "confirm", ConfirmSpec, problems)
    params = parse_space(data.get("params") or {}, "params", problems)
    head = {k: data[k] for k in ("name", "trainable", "metric", "mode", "metrics", "stop", "fixed", "storage")
            if data.get(k) is not None}
    for key in ("stop", "fixed"):
        if key in head and not isinstance(head[key], dict):
            problems.append((key, f"must be a mapping, got {head.pop(key)!r}"))
    trainable_bad = False
    if isinstance(head.get("trainable"), dict):
        command = _command_trainable(head["trainable"], problems)
        trainable_bad = command is None
        if command is not None:
            head["trainable"] = command
    elif "trainable" in head and not isinstance(head["trainable"], str):
        problems.append(("trainable", 'must be a registry name, "package.module:function", or a mapping with '
                                      f"command: (a script to run), got {head['trainable']!r}"))
        trainable_bad = True
    try:
        spec = SweepSpec.model_validate({**head, **sections, "params": params})
    except ValidationError as exc:
        found: list[tuple[str, str]] = []
        _collect(exc, "", SweepSpec, found)
        if "metrics" in head:  # metric/mode come from metrics[0]: report the problem there, once
            found = [(path, msg) for path, msg in found if path not in ("metric", "mode")]
        if trainable_bad:  # already reported under trainable.*
            found = [(path, msg) for path, msg in found if path != "trainable" and not path.startswith("trainable.")]
        problems += [(re.sub(r"^metrics\.(\d+)", r"metrics[\1]", path), msg) for path, msg in found]
        spec = None
    checked = {**sections, **{k: v for k, v in partial.items() if v is not None}}
    if isinstance(head.get("trainable"), CommandSpec):
        problems += metric_source_problems(head["trainable"], _needed_metrics(head, checked.get("scheduler")))
    problems += _cross_checks(head, checked, params)
    problems += _ranking_checks(checked.get("scheduler"), data.get("scheduler"), head)
    problems += objective_problems(head, checked)
    if problems or spec is None:
        raise SpecError(problems, source=source, name=_well_formed_name(data.get("name"), problems))
    spec._source = source
    return spec


def load_spec(ref: str | Path, *, overrides: list[str] | tuple[str, ...] = ()) -> SweepSpec:
    """Read a spec file (or a built-in spec by name), apply ``--set`` overrides, and validate it.

    Args:
        ref: a YAML file path, or the name of a spec shipped in ``configs/`` (``"quickstart"``).
        overrides: ``"dotted.path=value"`` strings, values parsed as YAML.

    Raises:
        SpecError: the file is missing or unreadable, or the spec has problems (all of them).
    """
    text, source = read_spec_source(ref)
    data = parse_yaml(text, source=source)
    if overrides:
        if not isinstance(data, dict):
            parse_spec(data, source=source)
        try:
            data = apply_overrides(data, overrides)
        except SpecError as exc:
            raise SpecError(exc.problems, source=source) from None
    return parse_spec(data, source=source)
