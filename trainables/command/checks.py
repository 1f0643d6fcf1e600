"""The checks of a command trainable that need its files or the argv rule, before anything runs.

``spaces`` checks the spec's shape alone; this module checks it against the disk and against
:mod:`.argv`: the program exists, every ``{placeholder}`` names a value every trial has, ``cwd``
exists, ``args: flags`` can pass every value, and what hpo cannot do for a command yet is refused in
one line. The engine's ``check_spec`` calls :func:`command_problems`, so ``hpo validate``, the dry
run and ``run_sweep`` all refuse the same specs.

The spec is read duck-typed (``trainables`` imports nothing of ``spaces``): its ``command``,
``resources``, ``failures``, ``source`` and ``to_dict()``, whose ``params`` and ``fixed`` are plain data
(a distribution is a mapping with ``type``; a group, a mapping without).
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo.trainables.command.argv import (
    PYTHON_NAMES,
    fill,
    flag_problem,
    script_index,
    split_placeholders,
)
from hpo.trainables.command.settings import BUILTIN_PLACEHOLDERS, CommandSettings

__all__ = ["command_problems", "config_names", "spec_dir_of"]

WORKERS_REFUSED = ("a command trainable runs one process per trial; torchrun for workers > 1 is not supported yet, "
                   "use workers: 1 (the script may start its own workers)")
HALVE_BATCH_REFUSED = ("halve_batch needs a trainable that halves its own batch (cifar); a command trainable fails on "
                       "CUDA out of memory: use on_oom: fail")


def spec_dir_of(spec: Any, *, given: str | os.PathLike[str] | None = None) -> Path:
    """The folder a command's program, ``cwd`` and ``{spec_dir}`` resolve against, the one rule for it.

    ``$HPO_SPEC_DIR`` first: the driver of an ``hpo submit`` job runs from a copy of the spec, its folder
    shipped as the job's working_dir. Then ``given`` (a folder the caller knows: a resume's recorded one,
    a confirmation's parent's), then the spec file's folder, then the working directory (a spec given as
    data, or a built-in name).
    """
    if os.environ.get("HPO_SPEC_DIR"):
        return Path(os.environ["HPO_SPEC_DIR"]).resolve()
    if given is not None:
        return Path(given).resolve()
    source = getattr(spec, "source", None)
    if source and Path(source).is_file():
        return Path(source).resolve().parent
    return Path(os.getcwd()).resolve()


def _is_group(node: Any) -> bool:
    return isinstance(node, Mapping) and "type" not in node


def _condition(name: str, groups: list[Mapping[str, Any]]) -> str:
    labels = [str(g["name"]) for g in groups if "name" in g]
    if len(labels) == len(groups) and labels:
        return f"when {name}.name is {' or '.join(labels)}"
    return f"in some of {name}'s choices"


def config_names(space: Mapping[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Every dotted name a trial's config may hold (groups and leaves), mapped to None when every trial
    has it, else to when it exists (``when optimizer.name is adamw``).

    Args:
        space: ``params`` or ``fixed`` as plain data (``SweepSpec.to_dict()``).
        prefix: The dotted name of the group ``space`` is in.
    """
    names: dict[str, str | None] = {}
    for key, node in space.items():
        name = f"{prefix}{key}"
        names[name] = None
        if _is_group(node):
            names.update(config_names(node, f"{name}."))
        elif isinstance(node, Mapping) and node.get("type") == "choice":
            values = list(node.get("values") or [])
            groups = [v for v in values if _is_group(v)]
            branches = [config_names(g, f"{name}.") for g in groups]
            for inner in dict.fromkeys(n for branch in branches for n in branch):
                having = [g for g, branch in zip(groups, branches, strict=True) if inner in branch]
                if len(having) == len(values):
                    conditions = [branch[inner] for branch in branches]
                    names[inner] = next((c for c in conditions if c is not None), None)
                else:
                    names[inner] = _condition(name, having)
    return names


def _constants(space: Mapping[str, Any], section: str, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """``(spec path, config name, value)`` of every constant a trial's config may hold as a leaf."""
    for key, node in space.items():
        name = f"{prefix}{key}"
        if _is_group(node):
            yield from _constants(node, section, f"{name}.")
        elif isinstance(node, Mapping):
            values = node.get("values") if node.get("type") in ("choice", "grid") else None
            for value in values or []:
                if _is_group(value):
                    yield from _constants(value, section, f"{name}.")
                elif not isinstance(value, Mapping):
                    yield f"{section}.{name}", name, value
        else:
            yield f"{section}.{name}", name, node


def _did_you_mean(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def _placeholder_problems(
    path: str, tokens: list[str], names: Mapping[str, str | None], *, fix: str
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    leaves = sorted(n for n, cond in names.items() if cond is None and not any(m.startswith(f"{n}.") for m in names))
    allowed = [*leaves, *BUILTIN_PLACEHOLDERS]
    seen: set[str] = set()
    for token in tokens:
        try:
            parts = split_placeholders(token)
        except ValueError as exc:
            problems.append((path, str(exc)))
            continue
        for part in parts:
            if not isinstance(part, tuple) or part[0] in seen or part[0] in BUILTIN_PLACEHOLDERS:
                continue
            name = part[0]
            seen.add(name)
            if name not in names:
                problems.append((path, f"{{{name}}} names no param or fixed value{_did_you_mean(name, allowed)}; "
                                       f"it may name: {', '.join(allowed)}"))
            elif names[name] is not None:
                problems.append((path, f"{{{name}}} exists only {names[name]}; {fix.replace('NAME', name)}"))
    return problems


def _program_problem(settings: CommandSettings) -> str | None:
    tokens = list(settings.tokens)
    spec_dir = Path(settings.spec_dir)
    index = script_index(tokens)
    if tokens[0] in PYTHON_NAMES:
        if index is None:
            return None  # python -m pkg.mod / -c code: nothing on disk to look for
        token = tokens[index]
    else:
        token = tokens[0]
    try:
        parts = split_placeholders(token)
    except ValueError:
        return None  # reported with the placeholders
    if any(isinstance(p, tuple) and p[0] != "spec_dir" for p in parts):
        return None  # a trial's value: known only when it runs
    program = fill(token, {"spec_dir": settings.spec_dir})
    path = spec_dir / program  # an absolute program stays itself
    if path.is_file():
        if tokens[0] not in PYTHON_NAMES and not os.access(path, os.X_OK):
            return (f"program {program} in the spec's folder {spec_dir} is not executable; chmod +x it, or start "
                    "the command with its interpreter (bash, python)")
        return None
    if Path(program).is_absolute():
        return f"program {program} not found"
    if "/" in program or tokens[0] in PYTHON_NAMES:
        return f"program {program} not found in the spec's folder {spec_dir}"
    if shutil.which(program) is None:
        return f"program {program} not found on PATH nor in the spec's folder {spec_dir}"
    return None


def command_problems(spec: Any, *, spec_dir: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Every way ``spec``'s command trainable would fail before its first result, as ``(dotted path, message)``.

    Args:
        spec: A ``SweepSpec`` whose ``trainable`` is a command.
        spec_dir: The folder its program and ``cwd`` resolve against (:func:`spec_dir_of`).
    """
    settings = CommandSettings.from_spec(spec, spec_dir=spec_dir)
    data = spec.to_dict()
    names = {**config_names(data.get("fixed") or {}), **config_names(data.get("params") or {})}
    flags = settings.args == "flags"
    fix = ("take {NAME} out of the command: args: flags passes what each trial has" if flags else
           "use args: flags, which passes what each trial has")
    problems = _placeholder_problems("trainable.command", list(settings.tokens), names, fix=fix)
    for key, value in settings.env.items():
        problems += _placeholder_problems(f"trainable.env.{key}", [value], names,
                                          fix="name a value every trial has")
    if settings.tokens and (program := _program_problem(settings)) is not None:
        problems.append(("trainable.command", program))
    if settings.cwd != "trial" and not (Path(settings.spec_dir) / settings.cwd).is_dir():
        problems.append(("trainable.cwd", f"folder {settings.cwd} not found in the spec's folder {settings.spec_dir}; "
                                          "use cwd: trial, or an existing folder"))
    if flags:
        used: list[str] = []
        for token in settings.tokens:
            try:
                used += [p[0] for p in split_placeholders(token) if isinstance(p, tuple)]
            except ValueError:
                continue
        flagged: set[str] = set()
        for section in ("fixed", "params"):
            for path, name, value in _constants(data.get(section) or {}, section):
                if path in flagged or name in used or any(name.startswith(f"{u}.") for u in used):
                    continue
                if (problem := flag_problem(name, value)) is not None:
                    flagged.add(path)
                    problems.append((path, problem))
    if settings.workers > 1:
        problems.append(("resources.workers", WORKERS_REFUSED))
    if spec.failures.on_oom == "halve_batch":
        problems.append(("failures.on_oom", HALVE_BATCH_REFUSED))
    return problems
