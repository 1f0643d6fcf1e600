"""Small pieces every dashboard page uses: a part that survives a malformed row, status classes, resources."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hpo.results.report.markup import Markup, html
from hpo.results.report.sections import fmt

__all__ = ["guarded", "malformed_note", "resources_text", "status_class", "sweep_url"]

logger = logging.getLogger(__name__)

_CLASSES = frozenset(("completed", "stopped_early", "running", "error", "finished", "failed", "interrupted", "lost"))
# What a row the store did not expect raises while a part is drawn (a string where a number belongs, a
# missing plan, a config that is not a mapping).
_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, ZeroDivisionError)


def guarded(what: str, render: Callable[[], Markup]) -> Markup:
    """``render()``; when a store row it did not expect breaks it, one line saying that ``what`` cannot be
    shown instead, so the rest of the page still renders (the details go to the server's log)."""
    try:
        return render()
    except _MALFORMED as exc:
        logger.warning("dashboard: the %s could not be shown: %s: %s", what, type(exc).__name__, exc)
        return html("<p class=\"problem\">The {what} cannot be shown: the store holds a value of an unexpected "
                    "type or shape ({kind}).</p>", what=what, kind=type(exc).__name__)


def sweep_url(name: str) -> str:
    """``/sweeps/<name>``, the name percent-encoded."""
    return f"/sweeps/{quote(name, safe='')}"


def status_class(status: object) -> str:
    """The CSS class of a sweep or trial status (``unknown`` for anything the store should not hold)."""
    return status if isinstance(status, str) and status in _CLASSES else "unknown"


def resources_text(resources: Any) -> str:
    """``cpu 1, gpu 0.5`` from the plan's resources (``unknown`` when the plan has none)."""
    if not isinstance(resources, dict):
        return "unknown"
    return ", ".join(f"{k} {fmt(v)}" for k, v in resources.items()) or "unknown"


def malformed_note(malformed: dict[str, list[str]]) -> Markup:
    """One line naming the trials whose stored numbers were not numbers (``{trial id: [column, ...]}``), or
    nothing when every row was as expected."""
    if not malformed:
        return Markup("")
    shown = "; ".join(f"{trial}: {', '.join(columns)}" for trial, columns in list(malformed.items())[:5])
    more = f"; and {len(malformed) - 5} more" if len(malformed) > 5 else ""
    return html("<p class=\"problem\" id=\"malformed\">The store holds text where a number belongs for {n} "
                "trial(s) ({shown}{more}); those values show as —.</p>", n=len(malformed), shown=shown, more=more)
