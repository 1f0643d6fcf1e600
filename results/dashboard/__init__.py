"""``hpo serve``: a live, read-only web dashboard over the results store (Starlette).

Server-rendered HTML with the reports' inline SVG plots, one small hand-written script for live refresh
(ETag / If-None-Match) and table sorting; nothing is fetched from a CDN. ``create_app`` builds the app (its
routes live in ``_routes``, apart from the factory); ``check_bind``, ``listen`` and ``make_server`` serve it;
``fingerprint`` is how a page knows the store changed. The modules behind this surface are private.
"""

from __future__ import annotations

from hpo.results.dashboard._app import create_app
from hpo.results.dashboard._bind import ServeError, check_bind, listen
from hpo.results.dashboard._server import HEADER_TIMEOUT_S, make_server
from hpo.results.dashboard._snapshot import COST_TICK_S, MIN_REBUILD_S, fingerprint

__all__ = [
    "COST_TICK_S",
    "HEADER_TIMEOUT_S",
    "MIN_REBUILD_S",
    "ServeError",
    "check_bind",
    "create_app",
    "fingerprint",
    "listen",
    "make_server",
]
