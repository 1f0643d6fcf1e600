"""Reference pages generated from the code, so they cannot drift from it.

Each function returns Markdown for one region of a page, ``<!-- generated: NAME -->`` ...
``<!-- end generated: NAME -->``:

* ``spec``: every spec field, from the pydantic models in ``spaces`` (type, default, bounds,
  description);
* ``params``: the param types of ``params:``, from their pydantic models;
* ``errors``: every bad-input error class (subclasses of ``hpo.errors.InputError``) and where it
  is raised from;
* ``schema``: the results store's tables, columns, keys and indexes, from the SQLAlchemy metadata;
* ``api``: every public name of ``hpo.spaces``, ``hpo.search``, ``hpo.results``, ``hpo.trainables``
  (signature and docstring);
* ``cli``: every ``hpo`` command (what it does, usage, options), from its click definition.

The regions are committed (GitHub shows the pages whole) and regenerated in place by ``make reference``
(``python docs/_gen/reference.py``); ``--check`` and the quick test ``tests/docs_tests/test_reference_pages.py``
say which page is out of date. The MkDocs hook (``hooks.py``) fills them again at build time, so the
site always shows the code as it is. Plain Markdown throughout: no page needs a MkDocs plugin to read.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["GENERATORS", "PAGES", "main", "render", "stale_pages", "write_pages"]

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
    from hpo.spaces import command, models

    return [("", models.SweepSpec), ("search.", models.SearchSpec), ("search.warm_start.", models.WarmStartSpec),
            ("metrics[].", models.ObjectiveSpec), ("scheduler.", models.SchedulerSpec),
            ("resources.", models.ResourcesSpec), ("failures.", models.FailuresSpec),
            ("cluster.", models.ClusterSpec), ("tracking.", models.TrackingSpec), ("tracking.wandb.", models.WandbSpec),
            ("tracking.mlflow.", models.MlflowSpec), ("confirm.", models.ConfirmSpec),
            ("trainable.", command.CommandSpec), ("trainable.metrics.", command.MetricSourcesSpec),
            ("trainable.metrics.tensorboard.", command.TensorboardSourceSpec)]


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
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").replace("|", "\\|").replace("``", "`")
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


# --------------------------------------------------------------------------- the Python API
_LIST_SECTIONS = ("Args", "Arguments", "Attributes", "Keyword Args", "Raises")
_TEXT_SECTIONS = ("Returns", "Yields", "Note", "Notes", "Warning", "Example", "Examples", "See Also")
_SECTION = re.compile(rf"^({'|'.join(_LIST_SECTIONS + _TEXT_SECTIONS)}):\s*$")
_ROLE = re.compile(r":(?:meth|func|class|attr|mod|obj|data|exc|const):`~?([^`]+)`")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_WIDE = 100  # a signature longer than this gets one parameter a line


class _Shown(str):
    """A string that ``inspect`` prints as it is: an annotation written as text, a default's repr."""

    def __repr__(self) -> str:
        return str(self)


def _inline(text: str) -> str:
    """reST-flavoured docstring text as Markdown: ``x`` and :func:`x` as code; outside code, ``<`` and
    ``*`` escaped (``<home>`` is text, not an HTML tag; ``**kwargs`` is not bold)."""
    text = _ROLE.sub(r"`\1`", text.replace("``", "`"))
    parts = _CODE_SPAN.split(text)
    return "".join(part if i % 2 else part.replace("<", "&lt;").replace("*", "\\*").replace("__", "\\_\\_")
                   for i, part in enumerate(parts))


def _section_items(lines: list[str]) -> list[str]:
    """``name: text`` items of an Args/Raises/Attributes section (continuations joined) as bullets."""
    items: list[str] = []
    base = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    for line in lines:
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) == base or not items:
            name, sep, rest = line.strip().partition(": ")
            if not sep and name.endswith(":"):
                name, sep, rest = name[:-1], ":", ""
            items.append(f"- `{name}`: {_inline(rest)}" if sep else f"- {_inline(name)}")
        else:
            items[-1] += " " + _inline(line.strip())
    return items


def _docstring(obj: Any) -> str:
    """An object's Google-style docstring as Markdown: sections become bold labels, their items bullets,
    doctest examples a ``pycon`` block."""
    doc = inspect.getdoc(obj) or ""
    out: list[str] = []
    # A docstring's own ```python fence shown as ```py: the docs tests run `python` blocks as examples.
    lines = [re.sub(r"^(\s*```)python\b", r"\1py", line) for line in doc.splitlines()]
    i = 0
    while i < len(lines):
        found = _SECTION.match(lines[i])
        if not found:
            out.append(_inline(lines[i]))
            i += 1
            continue
        title = found.group(1)
        body: list[str] = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        out.append(f"**{title}:**")
        out.append("")
        if title in _LIST_SECTIONS:
            out += _section_items(body)
        elif any(line.strip().startswith(">>>") for line in body):
            out += ["```pycon", *textwrap.dedent("\n".join(body)).splitlines(), "```"]
        else:
            out.append(" ".join(_inline(line.strip()) for line in body if line.strip()))
        out.append("")
    return "\n".join(out).strip()


def _shown_default(value: Any) -> str:
    if isinstance(value, (set, frozenset)):  # a set's order changes from run to run: sorted, so the page does not
        inner = ", ".join(sorted(repr(v) for v in value))
        return f"{type(value).__name__}({{{inner}}})" if value else f"{type(value).__name__}()"
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def _annotation(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return value
    return _Shown(value if isinstance(value, str) else inspect.formatannotation(value))


def _signature(name: str, obj: Any, *, drop_first: bool = False, returns: bool = True) -> str:
    """``name(params) -> returns`` as the source writes it (annotations as text), one parameter a line
    when it is long."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)"
    params = list(sig.parameters.values())[1 if drop_first else 0:]
    shown = [p.replace(annotation=_annotation(p.annotation),
                       default=p.default if p.default is inspect.Parameter.empty else _Shown(_shown_default(p.default)))
             for p in params]
    parts: list[str] = []
    for k, p in enumerate(shown):
        if p.kind is inspect.Parameter.KEYWORD_ONLY and (k == 0 or shown[k - 1].kind not in (
                inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_POSITIONAL)):
            parts.append("*")
        parts.append(str(p))
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and (k + 1 == len(shown)
                                                            or shown[k + 1].kind is not p.kind):
            parts.append("/")
    shown_returns = ("" if not returns or sig.return_annotation is inspect.Signature.empty
                     else f" -> {_annotation(sig.return_annotation)}")
    one_line = f"{name}({', '.join(parts)}){shown_returns}"
    if len(one_line) <= _WIDE:
        return one_line
    return f"{name}(\n" + "".join(f"    {part},\n" for part in parts) + f"){shown_returns}"


def _code(text: str) -> str:
    # `py`, not `python`: GitHub and the site highlight it as Python, and the docs tests run only `python`
    # blocks (a signature is not an example).
    return f"```py\n{text}\n```"


def _entry(*parts: str) -> str:
    """Parts of one entry, a blank line between them (an empty docstring leaves no gap)."""
    return "\n\n".join(part for part in parts if part)


def _members(cls: type) -> list[str]:
    """The public methods and properties a class defines itself, in source order."""
    parts = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name.startswith("model_"):
            continue
        if isinstance(value, property):
            returns = inspect.signature(value.fget).return_annotation if value.fget else inspect.Signature.empty
            shown = "" if returns is inspect.Signature.empty else f": {_annotation(returns)}"
            parts.append(_entry(f"#### `{cls.__name__}.{name}`", _code(f"property {name}{shown}"), _docstring(value)))
        elif isinstance(value, (classmethod, staticmethod)) or inspect.isfunction(value):
            function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            kind = "classmethod " if isinstance(value, classmethod) else "staticmethod " if isinstance(
                value, staticmethod) else ""
            signature = _signature(name, function, drop_first=not isinstance(value, staticmethod))
            parts.append(_entry(f"#### `{cls.__name__}.{name}`", _code(kind + signature), _docstring(function)))
    return parts


def _class(cls: type) -> str:
    from pydantic import BaseModel

    if dataclasses.is_dataclass(cls) or ("__init__" in vars(cls) and not issubclass(cls, BaseModel)):
        head = "class " + _signature(cls.__name__, cls.__init__ if "__init__" in vars(cls) else cls,
                                     drop_first="__init__" in vars(cls), returns=False)
    else:
        # The bases a reader can look up: a private base (`_Section`) shown as its nearest public ancestor.
        bases = []
        for base in cls.__bases__:
            public = next((b for b in base.__mro__ if not b.__name__.startswith("_")), object)
            if public is not object and public.__name__ not in bases:
                bases.append(public.__name__)
        head = f"class {cls.__name__}" + (f"({', '.join(bases)})" if bases else "")
    parts = [_code(head), _docstring(cls)]
    if issubclass(cls, BaseModel):
        where = "#param-types" if cls.__module__.endswith(".params") else "#every-field"
        parts.append(f"Its fields: [the spec language](spec.md{where}).")
    return "\n\n".join([*(p for p in parts if p), *_members(cls)]) + "\n"


def api() -> str:
    """Every name in each package's ``__all__``, at the module that defines it: its signature and
    docstring (a class with the methods and properties it defines); constants with their values."""
    parts = []
    for package in ("spaces", "search", "results", "trainables"):
        mod = importlib.import_module(f"hpo.{package}")
        doc = (inspect.getdoc(mod) or "").split("\n\n")[0]
        parts.append(f"## `hpo.{package}`\n\n{_inline(doc)}\n")
        for name in mod.__all__:
            obj = getattr(mod, name)
            where = getattr(obj, "__module__", None) or ""
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                parts.append(f"### `{name}`\n\n{_code(f'{name} = {_shown_default(obj)}')}\n")
                continue
            if not where.startswith(f"hpo.{package}"):
                parts.append(f"### `{name}`\n\n`hpo.{package}.{name}` is `{where}.{obj.__name__}`.\n")
                continue
            alias = f"`hpo.{package}.{name}` is `{where}.{obj.__name__}`." if obj.__name__ != name else ""
            body = _class(obj) if inspect.isclass(obj) else _entry(_code(_signature(name, obj)), _docstring(obj))
            parts.append(_entry(f"### `{name}`", alias, f"Defined in `{where}`.", body.strip()) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- the CLI
def _click_help(text: str) -> str:
    """A command's help as Markdown: click's ``\\b`` paragraphs (kept as written) as text blocks."""
    out = []
    for paragraph in inspect.cleandoc(text or "").split("\n\n"):
        if paragraph.startswith("\b\n"):
            out.append("```text\n" + paragraph[2:] + "\n```")
        else:
            out.append(_inline(" ".join(line.strip() for line in paragraph.splitlines())))
    return "\n\n".join(out)


def cli() -> str:
    """Every ``hpo`` command from its click definition: what it does, its usage line and its options,
    as ``hpo COMMAND --help`` prints them."""
    import click

    from hpo.search.cli.main import cli as group

    # A fixed width: click's usage lines otherwise wrap at the terminal's, and the page must not depend on it.
    # The group's own settings (-h as well as --help), as `hpo` runs with them: click caches each command's
    # help option once built, so a page built without them would depend on which command ran first.
    root = click.Context(group, info_name="hpo", **{**group.context_settings, "terminal_width": 200,
                                                    "max_content_width": 200})
    names = group.list_commands(root)
    parts = [_click_help(group.help or ""), "",
             "| command | what it does |", "|---|---|"]
    parts += [f"| [`hpo {name}`](#hpo-{name}) | {_inline(group.commands[name].get_short_help_str(limit=200))} |"
              for name in names]
    parts.append("")
    for name in names:
        command = group.commands[name]
        ctx = click.Context(command, info_name=name, parent=root, terminal_width=200, max_content_width=200)
        usage = command.get_usage(ctx).strip()
        options = []
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            opts, text = record
            text = re.sub(r"\s{2,}", " ", text)
            options.append(f"- `{opts}`" + (f": {_inline(text)}" if text else ""))
        parts.append(f"### `hpo {name}`\n\n{_click_help(command.help or '')}\n\n```text\n{usage}\n```\n")
        if options:
            parts.append("Options:\n\n" + "\n".join(options) + "\n")
    return "\n".join(parts)


GENERATORS: dict[str, Callable[[], str]] = {"spec": spec, "params": params, "errors": errors, "schema": schema,
                                            "api": api, "cli": cli}


# --------------------------------------------------------------------------- the pages
# The pages holding generated regions, relative to the repository's root. A region is
# `<!-- generated: NAME -->`, the generated Markdown, `<!-- end generated: NAME -->`: committed, so the
# pages read whole where people read them (GitHub), and replaced in place by `make reference`.
PAGES = ("docs/reference/spec.md", "docs/reference/cli.md", "docs/reference/python-api.md",
         "docs/reference/errors.md", "docs/reference/store.md")
ROOT = Path(__file__).resolve().parents[2]
_REGION = re.compile(r"<!-- generated: (\w+) -->(?:(?:(?!<!-- generated: ).)*?<!-- end generated: \1 -->)?", re.S)


def render(markdown: str) -> str:
    """Every generated region of a page (or a bare ``<!-- generated: NAME -->`` marker) filled with what
    the code generates now, between its two markers."""
    made: dict[str, str] = {}

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in GENERATORS:
            raise KeyError(f"unknown generated region {name!r}; known: {', '.join(GENERATORS)}")
        if name not in made:
            made[name] = GENERATORS[name]().strip()
        return f"<!-- generated: {name} -->\n\n{made[name]}\n\n<!-- end generated: {name} -->"

    return _REGION.sub(fill, markdown)


def stale_pages(root: Path = ROOT) -> list[str]:
    """The pages whose committed regions differ from what the code generates, one line each."""
    return [f"{page} is out of date; run make reference" for page in PAGES
            if render((root / page).read_text()) != (root / page).read_text()]


def write_pages(root: Path = ROOT) -> list[str]:
    """Regenerate every page's regions in place; the pages that changed."""
    changed = []
    for page in PAGES:
        path = root / page
        text = path.read_text()
        new = render(text)
        if new != text:
            path.write_text(new)
            changed.append(page)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python docs/_gen/reference.py`` (``make reference``): regenerate the pages; ``--check``: only say
    which are out of date, exit 1 if any is."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        stale = stale_pages()
        for line in stale:
            print(line)
        return 1 if stale else 0
    if args:
        print("usage: python docs/_gen/reference.py [--check]", file=sys.stderr)
        return 2
    changed = write_pages()
    print("regenerated: " + ", ".join(changed) if changed else "the reference pages are up to date")
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:  # the packages importable from the checkout, installed or not
        sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
