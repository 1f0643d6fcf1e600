"""``hpo serve``: a live, read-only web dashboard over the results store (Starlette).

Server-rendered HTML with the reports' inline SVG plots, one small hand-written script for
live refresh (ETag / If-None-Match) and table sorting; nothing is fetched from a CDN.
"""

from __future__ import annotations

from hpo.results.dashboard._app import create_app
from hpo.results.dashboard._bind import ServeError, check_bind, listen
from hpo.results.dashboard._server import HEADER_TIMEOUT_S, make_server

__all__ = ["HEADER_TIMEOUT_S", "ServeError", "check_bind", "create_app", "listen", "make_server"]
