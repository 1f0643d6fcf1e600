"""Reference pages generated from the code, so they cannot drift from it.

Each function returns Markdown for one marker ``<!-- generated: NAME -->`` in a page (the MkDocs
hook in ``hooks.py`` replaces the marker at build time; the docs tests call the same functions):

* ``spec``: every spec field, from the pydantic models in ``spaces`` (type, default, bounds,
  description);
* ``params``: the param types of ``params:``, from their pydantic models;
* ``errors``: every bad-input error class (subclasses of ``hpo.errors.InputError``) and where it
  is raised from;
* ``schema``: the results store's tables, columns, keys and indexes, from the SQLAlchemy metadata.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["GENERATORS", "render"]

PIPE = "\\|"  # a | inside a Markdown table cell


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(parts) + (" \\| null" if type(None) in args else "")
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}" if args else "mapping"
    if annotation is Any:
        return "any"
    if isinstance(annotation, type):
        names = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
        return names.get(annotation.__name__, f"[{annotation.__name__}](#{annotation.__name__.lower()})")
    return str(annotation)


def _default(field: Any) -> str:
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        value = field.default_factory()
        return "see below" if isinstance(value, BaseModel) else f"`{value!r}`"
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "null"
    value = field.default
    return f"`{str(value).lower()}`" if isinstance(value, bool) else f"`{value}`"


def _bounds(field: Any) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "length >=", "pattern": "matches"}
    out = []
    for meta in field.metadata:
        for key, word in words.items():
            value = getattr(meta, key, None)
            if value is not None:
                out.append(f"{word} `{value}`")
    return ", ".join(out)


def _model_table(model: type, prefix: str) -> str:
    rows = ["| key | type | default | rule | meaning |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        meaning = (field.description or "").replace("|", PIPE)
        rows.append(f"| `{prefix}{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                    f"{_bounds(field)} | {meaning} |")
    return "\n".join(rows)


def _sections() -> list[tuple[str, type]]:
    from hpo.spaces import models

    return [("", models.SweepSpec), ("search.", models.SearchSpec), ("search.warm_start.", models.WarmStartSpec),
            ("metrics[].", models.ObjectiveSpec), ("scheduler.", models.SchedulerSpec),
            ("resources.", models.ResourcesSpec), ("failures.", models.FailuresSpec),
            ("cluster.", models.ClusterSpec), ("tracking.", models.TrackingSpec), ("tracking.wandb.", models.WandbSpec),
            ("tracking.mlflow.", models.MlflowSpec), ("confirm.", models.ConfirmSpec)]


def spec() -> str:
    """Every field of every spec section, from ``spaces.models``."""
    parts = []
    for prefix, model in _sections():
        title = prefix.rstrip(".") or "top level"
        doc = inspect.getdoc(model) or ""
        parts.append(f"### {title}\n\n<a id=\"{model.__name__.lower()}\"></a>{doc.splitlines()[0] if doc else ''}"
                     f"\n\n{_model_table(model, prefix)}\n")
    return "\n".join(parts)


def params() -> str:
    """The param types (``type:`` in ``params``), from ``spaces.params``."""
    from hpo.spaces import params as p

    parts = []
    for model in (p.FloatParam, p.IntParam, p.Pow2Param, p.ChoiceParam, p.GridParam):
        doc = (inspect.getdoc(model) or "").splitlines()
        fields = {k: v for k, v in model.model_fields.items() if k != "type"}
        rows = ["| key | type | default |", "|---|---|---|"]
        rows += [f"| `{k}` | {_type_name(f.annotation)} | {_default(f)} |" for k, f in fields.items()]
        parts.append(f"#### `type: {model.kind}`\n\n{doc[0] if doc else ''}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def _input_errors() -> list[type]:
    from hpo import errors as hpo_errors

    for module in ("hpo.spaces", "hpo.search", "hpo.search.tracking.trackers", "hpo.results", "hpo.trainables",
                   "hpo.trainables.data",
                   "hpo.trainables.training", "hpo.trainables.config"):
        importlib.import_module(module)
    seen: list[type] = []
    todo = [hpo_errors.InputError]
    while todo:
        cls = todo.pop(0)
        seen.append(cls)
        todo.extend(sorted(cls.__subclasses__(), key=lambda c: c.__name__))
    return seen


def errors() -> str:
    """Every bad-input error class: ``hpo.errors.InputError`` and its subclasses."""
    rows = ["| class | module | bases | raised when |", "|---|---|---|---|"]
    for cls in _input_errors():
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        bases = ", ".join(f"`{b.__name__}`" for b in cls.__bases__)
        public = ".".join(cls.__module__.split(".")[:2])
        rows.append(f"| `{cls.__name__}` | `{public}` | {bases} | {doc} |")
    return "\n".join(rows)


def _column_notes(source: str) -> dict[tuple[str, str], str]:
    """(table, column) -> the comment on its ``Column(...)`` line in ``results/store/schema.py``."""
    notes: dict[tuple[str, str], str] = {}
    table, expect_table = "", False
    for line in source.splitlines():
        if expect_table and (found := re.search(r'^\s*"(\w+)",$', line)):
            table = found.group(1)
        expect_table = line.rstrip().endswith("Table(")
        if found := re.search(r'Column\("(\w+)".*#\s*(.+)$', line):
            notes[(table, found.group(1))] = found.group(2).strip()
    return notes


def schema() -> str:
    """The store's tables from ``hpo.results.store.schema``'s SQLAlchemy metadata (notes from its comments)."""
    from hpo.results.store import schema as _schema

    notes = _column_notes(inspect.getsource(_schema))

    parts = [f"Schema version **{_schema.SCHEMA_VERSION}**. Sweep statuses: "
             + ", ".join(f"`{s}`" for s in _schema.SWEEP_STATUSES) + "; trial statuses: "
             + ", ".join(f"`{s}`" for s in _schema.TRIAL_STATUSES) + ".\n"]
    for table in _schema.metadata.sorted_tables:
        rows = ["| column | type | null | key | note |", "|---|---|---|---|---|"]
        for col in table.columns:
            key = "primary key" if col.primary_key else ""
            key += ", ".join(f"references `{fk.target_fullname}`" for fk in col.foreign_keys)
            key += "unique" if col.unique else ""
            note = notes.get((table.name, col.name), "").replace("|", PIPE)
            rows.append(f"| `{col.name}` | `{col.type}` | {'yes' if col.nullable else 'no'} | {key} | {note} |")
        extra = []
        for con in table.constraints:
            cols = [c.name for c in getattr(con, "columns", [])]
            if con.__class__.__name__ == "UniqueConstraint" and len(cols) > 1:
                extra.append(f"unique ({', '.join(cols)})")
        indexes = sorted(table.indexes, key=lambda ix: str(ix.name))
        extra += [f"index `{ix.name}` ({', '.join(c.name for c in ix.columns)})" for ix in indexes]
        added = [f"`{col}` (v{v})" for v, adds in _schema.MIGRATIONS.items() for t, col, _ in adds
                 if t == table.name]
        tail = ""
        if extra:
            tail += "\n\n" + "; ".join(extra) + "."
        if added:
            tail += "\n\nAdded by migrations (nullable, added in place to an older store): " + ", ".join(added) + "."
        parts.append(f"### `{table.name}`\n\n" + "\n".join(rows) + tail + "\n")
    return "\n".join(parts)


def api() -> str:
    """``::: module.name`` directives (mkdocstrings renders them) for every name in each package's
    ``__all__``, at the module that defines it; constants are listed with their values."""
    parts = []
    for package in ("spaces", "search", "results", "trainables"):
        mod = importlib.import_module(package)
        doc = (inspect.getdoc(mod) or "").split("\n\n")[0]
        parts.append(f"## `{package}`\n\n{doc}\n")
        for name in mod.__all__:
            obj = getattr(mod, name)
            where = getattr(obj, "__module__", None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not where or not where.startswith(package):
                parts.append(f"### `{package}.{name}`\n\n`{name} = {obj!r}`\n")
                continue
            if obj.__name__ != name:  # an alias: document the object under its own name
                parts.append(f"`{package}.{name}` is `{where}.{obj.__name__}`:\n")
            parts.append(f"::: {where}.{obj.__name__}\n    options:\n      heading_level: 3\n"
                         f"      show_root_full_path: false\n")
    return "\n".join(parts)


GENERATORS: dict[str, Callable[[], str]] = {"spec": spec, "params": params, "errors": errors, "schema": schema,
                                            "api": api}


def render(markdown: str) -> str:
    """Replace every ``<!-- generated: NAME -->`` marker with its generated Markdown."""
    for name, make in GENERATORS.items():
        marker = f"<!-- generated: {name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
