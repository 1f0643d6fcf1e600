"""Param types of the spec language and the space tree they live in.

A space is a mapping of names to nodes. A node is a distribution (a mapping with a ``type``
key), a nested group (a mapping without one), or a constant (anything else). ``choice`` values
may themselves be groups holding further distributions: that is how conditional spaces are
written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "ChoiceParam",
    "FloatParam",
    "GridParam",
    "IntParam",
    "Param",
    "Pow2Param",
    "is_discrete",
    "iter_params",
    "node_to_data",
    "parse_space",
]


class _ParamBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]

    def problems(self) -> list[str]:
        """Rules across fields of this param; each message states the rule and the values."""
        return []


def _finite(value: float) -> bool:
    """A float that is neither inf nor nan; an int a float can hold."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float's range
        return False


def _bounds_problems(p: FloatParam | IntParam) -> list[str]:
    out: list[str] = []
    bounds = {"low": p.low, "high": p.high, **({"step": p.step} if p.step is not None else {})}
    if not all(_finite(v) for v in bounds.values()):
        return [", ".join(bounds) + " must be finite numbers (within ±1.8e308), got "
                + ", ".join(f"{k}={v}" for k, v in bounds.items())]
    span = float(p.high) - float(p.low)
    if not math.isfinite(span):
        return [f"high - low must be a finite number, got low={p.low}, high={p.high}"]
    if p.low >= p.high:
        out.append(f"low < high must hold, got low={p.low}, high={p.high}; for a constant, write the value")
    if p.log and p.low <= 0:
        out.append(f"log: true needs low > 0, got low={p.low}")
    if p.step is not None:
        if p.log:
            out.append(f"log: true cannot be combined with step, got step={p.step}; drop one of them")
        elif p.step <= 0:
            out.append(f"step must be > 0, got step={p.step}")
        elif p.low < p.high:
            n = span / float(p.step)
            if not math.isfinite(n):
                out.append(f"step is too small for the range: (high - low) / step overflows, got low={p.low}, "
                           f"high={p.high}, step={p.step}")
            elif abs(n - round(n)) > 1e-6 * max(1.0, abs(n)):
                out.append(
                    f"step must divide high - low, got low={p.low}, high={p.high}, step={p.step}"
                )
    return out


class FloatParam(_ParamBase):
    """A float in ``[low, high]``; ``log`` samples log-uniformly; ``step`` makes it discrete."""

    kind: ClassVar[str] = "float"
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def problems(self) -> list[str]:
        return _bounds_problems(self)

    def values(self) -> list[float]:
        """Every value of a stepped float, exactly (``0.05 * 3`` is ``0.15``, not ``0.15000000000000002``)."""
        if self.step is None:
            raise ValueError("a float without step has no finite list of values")
        digits = max(0, -math.floor(math.log10(self.step)) + 6)
        n = round((self.high - self.low) / self.step)
        return [round(self.low + k * self.step, digits) for k in range(n + 1)]


class IntParam(_ParamBase):
    """An integer in ``[low, high]``, both inclusive; ``log`` and ``step`` as for floats."""

    kind: ClassVar[str] = "int"
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int | None = None

    def problems(self) -> list[str]:
        return _bounds_problems(self)

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step or 1))


class Pow2Param(_ParamBase):
    """Powers of two between ``low`` and ``high`` inclusive: ``{low: 4, high: 256}`` is 4, 8, ..., 256."""

    kind: ClassVar[str] = "pow2"
    type: Literal["pow2"]
    low: int
    high: int

    def problems(self) -> list[str]:
        if self.low < 1:
            return [f"low must be >= 1, got low={self.low}"]
        if self.low > self.high:
            return [f"low <= high must hold, got low={self.low}, high={self.high}"]
        if not self.values():
            return [f"no power of two lies between low={self.low} and high={self.high}"]
        return []

    def values(self) -> list[int]:
        out, v = [], 1
        while v <= self.high:
            if v >= self.low:
                out.append(v)
            v *= 2
        return out


class ChoiceParam(_ParamBase):
    """One of ``values``: constants, or groups that may hold further distributions (conditional)."""

    kind: ClassVar[str] = "choice"
    type: Literal["choice"]
    values: list[Any]


class GridParam(_ParamBase):
    """Every one of ``values`` (constants): the search runs each, for the random and grid algorithms."""

    kind: ClassVar[str] = "grid"
    type: Literal["grid"]
    values: list[Any]


Param = FloatParam | IntParam | Pow2Param | ChoiceParam | GridParam
PARAM_TYPES: dict[str, type[_ParamBase]] = {
    cls.kind: cls for cls in (FloatParam, IntParam, Pow2Param, ChoiceParam, GridParam)
}


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def did_you_mean(word: str, options: list[str]) -> str:
    """`` (did you mean 'x'?)`` naming the closest option, or ``""``: the hint in every unknown-name message."""
    import difflib

    match = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _parse_param(data: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> Any:
    kind = data.get("type")
    cls = PARAM_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        allowed = ", ".join(PARAM_TYPES)
        hint = did_you_mean(kind, list(PARAM_TYPES)) if isinstance(kind, str) else ""
        problems.append((f"{path}.type", f"unknown param type {_fmt(kind)}{hint}; allowed: {allowed}"))
        return None
    fields = [f for f in cls.model_fields if f != "type"]
    unknown = [k for k in data if k not in cls.model_fields]
    for key in unknown:
        hint = did_you_mean(str(key), fields)
        problems.append((f"{path}.{key}", f"unknown key for type {kind}{hint}; allowed: {', '.join(fields)}"))
    if unknown:
        return None
    if cls in (ChoiceParam, GridParam):
        return _parse_choice(cls, data, path, problems)
    try:
        param = cls.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in (path, *err["loc"]))
            problems.append((where, describe_pydantic_error(err)))
        return None
    for msg in param.problems():
        problems.append((path, msg))
    return param


def _parse_choice(cls: type[_ParamBase], data: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> Any:
    values = data.get("values")
    if "values" not in data:
        problems.append((f"{path}.values", "required: the list of values to choose from"))
        return None
    if not isinstance(values, list) or not values:
        problems.append((f"{path}.values", f"must be a non-empty list, got {_fmt(values)}"))
        return None
    parsed: list[Any] = []
    seen: list[Any] = []
    for i, value in enumerate(values):
        where = f"{path}.values[{i}]"
        if value in seen:
            problems.append((where, f"values must be distinct, got {_fmt(value)} twice"))
        seen.append(value)
        if cls is GridParam and isinstance(value, dict):
            problems.append((where, "grid values must be constants; for groups use type: choice"))
            continue
        parsed.append(_parse_node(value, where, problems))
    return cls(type=data["type"], values=parsed)


def _parse_node(value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        if "type" in value:
            return _parse_param(value, path, problems)
        return parse_space(value, path, problems)
    return value


def parse_space(data: Any, path: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    """Parse a mapping of names to nodes, appending every problem found to ``problems``."""
    if not isinstance(data, dict):
        problems.append((path, f"must be a mapping of names to params, got {_fmt(data)}"))
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            problems.append((f"{path}.{key}", "param names must be non-empty strings"))
            continue
        if "." in key:
            problems.append((f"{path}.{key}", "param names cannot contain '.' (dots separate nested groups)"))
            continue
        out[key] = _parse_node(value, f"{path}.{key}", problems)
    return out


def iter_params(space: dict[str, Any], path: str = "params") -> Iterator[tuple[str, Any]]:
    """Every distribution in a parsed space, with its dotted path, depth first (inside choices too)."""
    for key, node in space.items():
        where = f"{path}.{key}"
        if isinstance(node, _ParamBase):
            yield where, node
            if isinstance(node, ChoiceParam):
                for i, option in enumerate(node.values):
                    if isinstance(option, dict):
                        yield from iter_params(option, f"{where}.values[{i}]")
        elif isinstance(node, dict):
            yield from iter_params(node, where)


def is_discrete(param: Any) -> bool:
    """True when the param has a finite list of values (what grid search can enumerate)."""
    if isinstance(param, FloatParam):
        return param.step is not None
    return True


def node_to_data(node: Any) -> Any:
    """A parsed node back to plain YAML-able data (the inverse of parsing)."""
    if isinstance(node, (ChoiceParam, GridParam)):
        return {"type": node.type, "values": [node_to_data(v) for v in node.values]}
    if isinstance(node, _ParamBase):
        return node.model_dump(exclude_defaults=True) | {"type": node.type}
    if isinstance(node, dict):
        return {k: node_to_data(v) for k, v in node.items()}
    return node


def describe_pydantic_error(err: Any) -> str:
    """One pydantic error as our one-line message: the rule, then the value that broke it."""
    kind, value = err["type"], err.get("input")
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (err.get("ctx") or {}).items()}
    got = f", got {_fmt(value)}"
    messages = {
        "missing": "required",
        "literal_error": f"must be one of {ctx.get('expected', '').replace(' or ', ', ')}{got}",
        "int_parsing": f"must be an integer{got}",
        "int_type": f"must be an integer{got}",
        "int_from_float": f"must be a whole number{got}",
        "float_parsing": f"must be a number{got}",
        "float_type": f"must be a number{got}",
        "bool_parsing": f"must be true or false{got}",
        "bool_type": f"must be true or false{got}",
        "string_type": f"must be a string{got}",
        "dict_type": f"must be a mapping{got}",
        "list_type": f"must be a list{got}",
        "greater_than_equal": f"must be >= {ctx.get('ge')}{got}",
        "greater_than": f"must be > {ctx.get('gt')}{got}",
        "less_than_equal": f"must be <= {ctx.get('le')}{got}",
        "string_pattern_mismatch": f"has characters that are not allowed{got}",
    }
    return messages.get(kind, f"{err['msg']}{got}")
