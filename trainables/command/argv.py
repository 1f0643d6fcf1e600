"""The argv rule: how one trial's config becomes the command line of its process.

Pure (no Ray, no spec models): the trial on its actor, the checks before a sweep and the dry run
all call :func:`build_argv`, so what ``--dry-run`` prints is what runs.

- The command's tokens come split as a shell would (``CommandSettings.tokens``); each token is
  filled on its own, so a value with spaces or quotes stays one argv element.
- ``{dotted.name}`` is a config value (``{optimizer.momentum}`` reads the ``optimizer`` group) or a
  built-in (``spec_dir``, ``trial_dir``, ``trial_id``, ``checkpoint_dir``); ``{{`` and ``}}`` are
  literal braces.
- A leading ``python``/``python3`` becomes this interpreter (``sys.executable``); a relative program,
  or the script after the interpreter, that exists in the spec's folder becomes absolute.
- Every config leaf no placeholder used follows, in config order: ``args: flags`` gives
  ``--lr=0.01`` (a true boolean a bare ``--flag``, a false one nothing, groups ``--a.b=x``),
  ``args: hydra`` gives ``lr=0.01 a.b=x``, ``args: none`` gives nothing.
"""

from __future__ import annotations

import json
import numbers
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo.trainables.command.settings import BUILTIN_PLACEHOLDERS, CommandSettings, TrialPaths

__all__ = [
    "PYTHON_NAMES",
    "build_argv",
    "config_leaves",
    "fill",
    "flag_problem",
    "hydra_value",
    "placeholder_text",
    "placeholders",
    "script_index",
    "split_placeholders",
]

PYTHON_NAMES = ("python", "python3")  # a leading one of these runs the worker's own interpreter

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")
_HYDRA_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_\-./]*")  # reads back as this very string, unquoted
_HYDRA_WORDS = ("true", "false", "null", "nan", "inf")


def split_placeholders(token: str) -> list[str | tuple[str]]:
    """``token`` as literal text and ``(name,)`` placeholders, ``{{``/``}}`` unescaped.

    Raises:
        ValueError: a brace that is neither an escape nor a ``{dotted.name}`` placeholder.
    """
    parts: list[str | tuple[str]] = []
    text, i = "", 0
    while i < len(token):
        char = token[i]
        if token.startswith(("{{", "}}"), i):
            text += char
            i += 2
        elif char == "{":
            end = token.find("}", i)
            name = token[i + 1:end] if end >= 0 else ""
            if end < 0 or not _NAME.fullmatch(name):
                shown = token[i:end + 1] if end >= 0 else token[i:]
                raise ValueError(f"{shown} in {token!r} is not a {{name}} placeholder; write {{{{ and }}}} for "
                                 "literal braces")
            if text:
                parts.append(text)
            parts.append((name,))
            text, i = "", end + 1
        elif char == "}":
            raise ValueError(f"unmatched }} in {token!r}; write }}}} for a literal brace")
        else:
            text += char
            i += 1
    if text or not parts:
        parts.append(text)
    return parts


def placeholders(settings: CommandSettings) -> list[str]:
    """The dotted names the command's ``{placeholders}`` use, in order, each once.

    Raises:
        ValueError: a token with a stray brace (see :func:`split_placeholders`).
    """
    names: list[str] = []
    for token in settings.tokens:
        for part in split_placeholders(token):
            if isinstance(part, tuple) and part[0] not in names:
                names.append(part[0])
    return names


def _lookup(config: Mapping[str, Any], name: str) -> Any:
    node: Any = config
    for key in name.split("."):
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError(name)
        node = node[key]
    return node


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's, without importing numpy


def _number(value: Any) -> str:
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return repr(float(value))  # 0.01 -> "0.01": the shortest text that reads back as the same float


def placeholder_text(value: Any) -> str:
    """A config value as a ``{placeholder}`` fills it: text as is, numbers as Python writes them,
    ``true``/``false``/``null``, lists and groups as compact JSON."""
    if isinstance(value, str):
        return value
    if _is_bool(value):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, numbers.Real):
        return _number(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def fill(token: str, values: Mapping[str, Any]) -> str:
    """``token`` with each placeholder replaced by ``values[name]`` (see :func:`placeholder_text`).

    Raises:
        KeyError: a placeholder ``values`` lacks (its dotted name).
        ValueError: a stray brace.
    """
    out = []
    for part in split_placeholders(token):
        if isinstance(part, tuple):
            name = part[0]
            out.append(placeholder_text(values[name] if name in values else _lookup(values, name)))
        else:
            out.append(part)
    return "".join(out)


def config_leaves(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``(dotted name, value)`` of a config, depth first in config order; groups are opened."""
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from config_leaves(value, f"{name}.")
        else:
            yield name, value


def flag_problem(name: str, value: Any) -> str | None:
    """Why ``args: flags`` cannot pass the config value ``name`` as one flag (the phrase after its path), or None."""
    if value is None:
        return "args: flags cannot pass null; leave the key out, or use args: hydra"
    if isinstance(value, list | tuple):
        shown = json.dumps(list(value), default=str)
        return (f"args: flags cannot pass a list as one flag (got {shown}); use args: hydra, "
                f"or {{{name}}} with args: none")
    return None


def _flag(name: str, value: Any) -> list[str]:
    problem = flag_problem(name, value)
    if problem is not None:
        raise ValueError(f"{name}: {problem}")
    if _is_bool(value):
        return [f"--{name}"] if value else []
    return [f"--{name}={placeholder_text(value)}"]


def _hydra_quoted(text: str) -> str:
    # Hydra reads a backslash literally unless a quote follows it: double those, then escape the quotes.
    escaped = re.sub(r"(\\*)('|$)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), text)
    # OmegaConf resolves ${...} even in a quoted string when the app reads it: \${ keeps it text.
    return "'" + escaped.replace("${", "\\${") + "'"


def hydra_value(value: Any) -> str:
    """``value`` in Hydra's override grammar, so that Hydra reads back the same value and type."""
    if _is_bool(value):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, numbers.Real):
        if isinstance(value, numbers.Integral):
            return str(int(value))
        return repr(float(value))  # 1e-05, inf, nan: Hydra reads each back as that float
    if isinstance(value, str):
        plain = _HYDRA_PLAIN.fullmatch(value) and value.lower() not in _HYDRA_WORDS
        return value if plain else _hydra_quoted(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    return _hydra_quoted(str(value))


def script_index(tokens: list[str] | tuple[str, ...]) -> int | None:
    """Where the script is after a leading ``python``/``python3`` (its first non-option argument), or
    None: no interpreter, or ``-m``/``-c`` runs something that is not a file."""
    if not tokens or tokens[0] not in PYTHON_NAMES:
        return None
    for i in range(1, len(tokens)):
        token = tokens[i]
        if token.startswith(("-m", "-c")):  # -m pkg.mod, -mpkg.mod, -c code: no script file
            return None
        if not token.startswith("-"):
            return i
    return None


def _absolute(token: str, spec_dir: str) -> str:
    path = Path(token)
    if path.is_absolute() or "{" in token:
        return token
    found = Path(spec_dir) / path
    return str(found) if found.is_file() else token


def _builtins(settings: CommandSettings, paths: TrialPaths | None) -> dict[str, str]:
    if paths is None:  # the dry run: a trial's own paths do not exist yet
        return {name: settings.spec_dir if name == "spec_dir" else f"<{name}>" for name in BUILTIN_PLACEHOLDERS}
    return {name: getattr(paths, name) for name in BUILTIN_PLACEHOLDERS}


def build_argv(settings: CommandSettings, config: Mapping[str, Any], *, paths: TrialPaths | None) -> list[str]:
    """The argv of the trial given ``config`` (the Tune config: groups as nested dicts).

    Args:
        settings: The sweep's command.
        config: The trial's config.
        paths: The trial's folders; None for the dry run, which shows ``<trial_dir>`` and so on.

    Raises:
        KeyError: a placeholder names no config value (``hpo validate`` says which before a sweep).
        ValueError: a stray brace, or a value ``args: flags`` cannot pass (a list, null).
    """
    tokens = list(settings.tokens)
    script = script_index(tokens)
    if tokens and tokens[0] in PYTHON_NAMES:
        tokens[0] = sys.executable
    elif tokens:
        tokens[0] = _absolute(tokens[0], settings.spec_dir)
    if script is not None:
        tokens[script] = _absolute(tokens[script], settings.spec_dir)
    values = {**config, **_builtins(settings, paths)}
    argv = [fill(token, values) for token in tokens]
    used = set(placeholders(settings))
    rest = [(name, value) for name, value in config_leaves(config)
            if name not in used and not any(name.startswith(f"{u}.") for u in used)]
    if settings.args == "flags":
        for name, value in rest:
            argv += _flag(name, value)
    elif settings.args == "hydra":
        argv += [f"{name}={hydra_value(value)}" for name, value in rest]
    return argv
