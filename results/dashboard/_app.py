"""The Starlette app: read-only routes over one store (``_routes``), a token check, strict security headers."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.middleware import Middleware

from hpo.results.dashboard._guard import Guard
from hpo.results.dashboard._routes import PLOT_LOCK, Routes
from hpo.results.dashboard._snapshot import COST_TICK_S, MIN_REBUILD_S
from hpo.results.store.store import Store

__all__ = ["create_app"]


def _warm_imports() -> None:
    """Import what the first sweep page draws with (matplotlib and its fonts, pandas, optuna: about a second)
    when the server starts, not inside its first request."""
    import pandas  # noqa: F401

    from hpo.results.analysis.fanova_compat import optuna_importance
    from hpo.results.report.figure import warm_up

    optuna_importance()
    with PLOT_LOCK:
        warm_up()


def create_app(store: Store, *, token: str | None = None, hosts: Iterable[str] = (),
               min_rebuild_s: float = MIN_REBUILD_S, cost_tick_s: float = COST_TICK_S) -> Starlette:
    """The dashboard over ``store`` (which the app reads and never writes).

    Args:
        store: The open results store.
        token: When set, every request must carry it.
        hosts: Names besides the loopback ones that a request's Host may carry when no token is set: the
            name the server was bound to, and a reverse proxy's.
        min_rebuild_s: A changing sweep's page is rebuilt at most this often.
        cost_tick_s: A running sweep's page is rebuilt this often, its cost growing with the clock.
    """
    _warm_imports()
    routes = Routes(store, min_rebuild_s=min_rebuild_s, cost_tick_s=cost_tick_s)
    return Starlette(routes=routes.table(), middleware=[Middleware(Guard, token=token, hosts=hosts)])
