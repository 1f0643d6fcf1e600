"""Reading specs: YAML with numbers written the way people write them, built-in names, overrides."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hpo.spaces.errors import SpecError

__all__ = ["apply_overrides", "builtin_names", "parse_yaml", "read_spec_source"]

# YAML 1.1 (PyYAML) reads `1e-4` and `1E5` as strings: it wants a dot in the mantissa. Users write
# them as numbers, so this loader resolves every float form YAML 1.2 allows.
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text; a syntax error becomes a ``SpecError`` naming the file, line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise SpecError([("", f"invalid YAML: {problem}")], source=where) from exc


def builtin_names() -> list[str]:
    """Names of the specs shipped in ``configs/`` (``hpo sweep quickstart``)."""
    root = resources.files("hpo.configs")
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def read_spec_source(ref: str | Path) -> tuple[str, str]:
    """Return ``(text, source label)`` for a spec file path or a built-in spec name."""
    path = Path(ref)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8"), str(ref)
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError([("", f"cannot read the file: {exc}")], source=str(ref)) from exc
    name = str(ref)
    if name in builtin_names():
        return resources.files("hpo.configs").joinpath(f"{name}.yaml").read_text(encoding="utf-8"), name
    if path.exists():
        raise SpecError([("", "not a file")], source=str(ref))
    builtins = ", ".join(builtin_names())
    raise SpecError([("", f"no such file, and not a built-in spec (built-ins: {builtins})")], source=name)


def _parse_override(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError([("", f"--set {item}: expected KEY=VALUE, e.g. search.num_samples=8")])
    if any(not part for part in key.split(".")):
        raise SpecError([("", f"--set {item}: empty part in the dotted path {key!r}")])
    try:
        value = parse_yaml(raw, source=f"--set {key}") if raw.strip() else None
    except SpecError as exc:
        raise SpecError([("", f"--set {item}: value is not valid YAML")]) from exc
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` dotted-path overrides to a spec mapping, in order; returns a new mapping.

    Values are parsed as YAML (``8`` is an int, ``1e-4`` a float, ``[32, 64]`` a list); numeric
    parts of the path index into lists (``params.optimizer.values.0.name=sgd``). Missing
    mappings along the path are created.
    """
    import copy

    result = copy.deepcopy(data)
    for item in overrides:
        parts, value = _parse_override(item)
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, dict):
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError([("", f"--set {item}: {'.'.join(parts[:depth])} is {node!r}, not a mapping")])
        last = parts[-1]
        if isinstance(node, dict):
            node[last] = value
        elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        else:
            raise SpecError([("", f"--set {item}: {'.'.join(parts[:-1])} is {node!r}, not a mapping")])
    return result
