"""HTML by construction: every value is escaped on its way into a page unless it is already markup.

Pages are built from :class:`Markup` templates (MarkupSafe, the escaping behind Jinja2): ``html("<td>{}</td>",
value)`` escapes ``value``; only what a template or another ``html`` call made counts as markup. So a
value from the store (a name, a config, a metric, an error) can reach a page only escaped, whichever
renderer puts it there. ``number`` and ``count`` let through only what is a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from hpo.results.store.records import finite

__all__ = ["Markup", "count", "esc", "html", "join", "kv_table", "number"]


def html(template: str, /, *args: Any, **kwargs: Any) -> Markup:
    """``template`` (trusted markup, ``str.format`` syntax) with every argument escaped unless it is markup."""
    return Markup(template).format(*args, **kwargs)


def join(parts: Iterable[Any], separator: str = "") -> Markup:
    """The parts joined as markup (each escaped unless it is markup)."""
    return Markup(separator).join(parts)


def kv_table(rows: Iterable[tuple[Any, Any]]) -> Markup:
    """A two-column table of (name, value) rows, ``<table class="kv">`` (each cell escaped unless markup)."""
    return html("<table class=\"kv\">{}</table>", join(html("<tr><th>{}</th><td>{}</td></tr>", k, v) for k, v in rows))


def esc(text: object) -> str:
    """``text`` HTML-escaped (quotes too: safe in attributes), as plain text."""
    return str(escape(text if isinstance(text, str) else str(text)))


def number(value: Any) -> float | int | None:
    """``value`` when it is a finite number (not a bool), else None: for values a page formats as numbers."""
    if not isinstance(value, int | float) or finite(value) is None:  # finite() also turns away bools
        return None
    return value


def count(value: Any) -> int | None:
    """``value`` when it is a whole number (an int, or a float with no fraction), else None."""
    checked = number(value)
    if checked is None or checked != int(checked):
        return None
    return int(checked)
