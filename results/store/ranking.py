"""Which value is better, and trials best first, spelled once for everyone who ranks by a sweep's mode.

The store's writer keeps each trial's best with ``better``; the live view follows the best result with it;
confirmation, refine and warm start order trials with ``best_first``. ``Store.trials`` orders the same way
in SQL (its rows come back best first already).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from hpo.results.store.records import finite

__all__ = ["best_first", "better"]

T = TypeVar("T")


def better(value: float, than: float | None, *, mode: str) -> bool:
    """Whether ``value`` beats ``than`` under ``mode``: lower for ``min``, higher otherwise; a tie does not
    beat, and any value beats None (nothing yet)."""
    if than is None:
        return True
    return value < than if mode == "min" else value > than


def _last_metric(item: Any) -> Any:
    return item.last_metric


def best_first(items: Iterable[T], *, mode: str, value: Callable[[T], Any] = _last_metric) -> list[T]:
    """The items whose ``value`` (default: a trial's last metric) is a finite number, best first under
    ``mode``; ties keep the items' order, and the rest are left out."""
    scored = [(number, item) for item in items if (number := finite(value(item))) is not None]
    scored.sort(key=lambda pair: pair[0] if mode == "min" else -pair[0])
    return [item for _, item in scored]
