"""Options every ``hpo`` command shares: the run home and the results store URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["home_option", "progress_options", "store_option"]

F = TypeVar("F", bound=Callable[..., Any])


def home_option(fn: F) -> F:
    """``--home DIR``: where runs, the store and reports live (default ``./runs`` or ``HPO_HOME``)."""
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=str),
        envvar="HPO_HOME",
        default=None,
        help="Run home: store, Ray results, reports. Default ./runs (or $HPO_HOME).",
    )(fn)


def store_option(fn: F) -> F:
    """``--store URL``: any SQLAlchemy URL (default the SQLite file in the home, or ``HPO_STORE``)."""
    return click.option(
        "--store",
        "store_url",
        envvar="HPO_STORE",
        default=None,
        metavar="URL",
        help="Results store, any SQLAlchemy URL. Default sqlite:///<home>/store.sqlite (or $HPO_STORE).",
    )(fn)


def progress_options(fn: F) -> F:
    """``-q/--quiet`` (no progress view) and ``-v/--verbose`` (Ray's own log lines too)."""
    fn = click.option("-v", "--verbose", is_flag=True, help="Show Ray's own log lines and trial output.")(fn)
    return click.option("-q", "--quiet", is_flag=True, help="No progress view.")(fn)
