"""The dashboard's routes over one store: each page and API answer, and the caches they share.

Every view is built once per store change (``Cache`` keyed by what the store holds, ``Fingerprints`` for
"has it changed?"); a big sweep's plots are drawn after its page, one plot per URL (``_lazy``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hpo.results.dashboard._assets import SCRIPT
from hpo.results.dashboard._http import (
    Refused,
    error_json,
    error_page,
    json_bytes,
    json_ready,
    json_response,
    matches,
    shown,
)
from hpo.results.dashboard._lazy import ORDER, draw, lazy, plot_kinds, slot_prefix
from hpo.results.dashboard._model import compare_series, sweep_list, sweep_payload
from hpo.results.dashboard._pages import compare_page, index_page, plot_page, sweep_main, sweep_page, trial_page_html
from hpo.results.dashboard._snapshot import COST_TICK_S, MIN_REBUILD_S, Cache, Fingerprints, Names
from hpo.results.dashboard._trial import find_trial, trial_main, trial_payload, trial_plot
from hpo.results.errors import StoreError
from hpo.results.report.data import ReportData, collector_paused, gather
from hpo.results.report.figure import inline_svg
from hpo.results.store.records import TrialRecord
from hpo.results.store.store import Store

__all__ = ["MAX_COMPARE", "MAX_NAME", "PLOT_LOCK", "Routes"]

logger = logging.getLogger(__name__)

MAX_COMPARE = 8  # sweeps on one compare page
MAX_NAME = 255  # the store's longest sweep name (its column's width)
PLOT_LOCK = threading.Lock()  # matplotlib's rc_context is process-global: one render at a time

Later = list[Callable[[], None]]  # work to start once a response is sent


class _Lazy:
    """A value built on its first ``get`` (once, whichever thread asks first)."""

    def __init__(self, build: Callable[[], bytes]) -> None:
        self._build: Callable[[], bytes] | None = build
        self._value = b""
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._build is not None:
                self._value, self._build = self._build(), None
            return self._value


def _after(later: Later) -> BackgroundTask | None:
    return BackgroundTask(later[0]) if later else None


def _pair(request: Request, data: ReportData) -> tuple[str, str] | None:
    """The contour's two params the URL chose (``?cx=&cy=``), checked against the sweep's own."""
    from hpo.results.report.plots import contour_axes

    cx, cy = request.query_params.get("cx"), request.query_params.get("cy")
    if not (cx and cy and cx != cy):
        return None
    keys = [a.key for a in contour_axes(data)]
    for chosen in (cx, cy):
        if chosen not in keys:
            raise Refused(f"no numeric param {shown(chosen)!r} to draw the contour over; this sweep's: "
                          f"{', '.join(keys) or 'none'}", 400)
    return cx, cy


class Routes:
    """The handlers of every dashboard URL over ``store`` (read, never written), with the caches they share.

    Args:
        store: The open results store.
        min_rebuild_s: A changing sweep's page is rebuilt at most this often.
        cost_tick_s: A running sweep's page is rebuilt this often as its cost grows with the clock.
    """

    def __init__(self, store: Store, *, min_rebuild_s: float = MIN_REBUILD_S, cost_tick_s: float = COST_TICK_S) -> None:
        self.store = store
        self.pages = Cache(min_rebuild_s=min_rebuild_s)  # the index and each sweep's view
        self.parts = Cache(min_rebuild_s=min_rebuild_s, size=512)  # plots, contours, trial pages, comparisons
        self.fingerprint = Fingerprints(store, ttl_s=min(0.5, min_rebuild_s), cost_tick_s=cost_tick_s)
        self.names = Names(store, ttl_s=min(0.5, min_rebuild_s))

    def table(self) -> list[Route]:
        """Starlette's routes, each URL to its handler."""
        return [
            Route("/", self.index),
            Route("/sweeps/{name}", self.sweep),
            Route("/sweeps/{name}/plots/{kind}", self.sweep_plot),
            Route("/sweeps/{name}/trials/{trial_id:path}", self.trial_page),
            Route("/compare", self.compare),
            Route("/api/sweeps", self.api_sweeps),
            Route("/api/sweeps/{name}", self.api_sweep),
            Route("/api/sweeps/{name}/trials/{trial_id:path}", self.api_trial),
            Route("/static/dash.js", self.script),
        ]

    # ------------------------------------------------------------ views, built once per store change
    def _known(self, name: str) -> None:
        """Raise unless the store holds sweep ``name`` (the 404 names close ones, as the CLI does)."""
        if len(name) > MAX_NAME:
            raise Refused(f"no sweep named {name[:40]!r}… (names are at most {MAX_NAME} characters)", 404)
        if name not in self.names:
            self.store.get_sweep(name)  # raises SweepNotFoundError with close names, unless it was just started

    def sweep_view(self, name: str, later: Later | None = None) -> tuple[str, dict[str, Any]]:
        """(fingerprint, the sweep's page and data); a big sweep's plots start drawing now, or (``later``
        given) once the response that gets ``later``'s task is sent."""
        self._known(name)
        fp, view = self.pages.get(f"sweep:{name}", self.fingerprint(name), functools.partial(self._build_sweep, name))
        ahead = view.pop("ahead", None)  # atomic: the one request that finds it starts it
        if ahead is not None:
            if later is None:
                ahead.start()
            else:  # once this response is sent: drawing meanwhile would slow its sending
                later.append(ahead.start)
        return fp, view

    def _build_sweep(self, name: str, fp: str) -> dict[str, Any]:
        from hpo.results.report.figure import hit_maps
        from hpo.results.report.plots import all_plots

        with collector_paused():
            data = gather(self.store, name)
            kinds = plot_kinds(data) if lazy(data) else []
            plots: dict[str, str] = {}
            if not kinds:
                with PLOT_LOCK, hit_maps():
                    plots = all_plots(data)
            generated = datetime.now(tz=UTC).isoformat(timespec="seconds")
            main = sweep_main(data, plots, generated, lazy=kinds)
        # A big sweep: its plots drawn once its page is cached, one by one (a request waits for its own).
        ahead = (threading.Thread(target=self._draw_ahead, args=(name, fp, data, kinds), daemon=True,
                                  name="hpo-plots") if kinds else None)
        # Encoded once per change, not once per request: pages of 1,000 trials are megabytes. The JSON
        # (every trial's last result: 9 MB at 10,000 trials) waits for the first request that wants it.
        return {"json": _Lazy(lambda: json_bytes(json_ready(sweep_payload(data)))), "main": main.encode(),
                "page": sweep_page(data, main, etag=f'"{fp}"').encode(), "data": data, "plots": plots,
                "generated": generated, "lazy": kinds, "ahead": ahead}

    def _plot(self, name: str, fp: str, data: ReportData, kind: str,
              pair: tuple[str, str] | None = None) -> str | None:
        """One plot of a big sweep, drawn once per store change (and contour pair), like the page."""
        def build(_fp: str) -> str | None:
            with collector_paused(), PLOT_LOCK:
                return draw(data, kind, pair=pair)

        key = f"plot:{name}:{kind}" + (f":{pair[0]}:{pair[1]}" if pair else "")
        return self.parts.get(key, fp, build)[1]

    def _draw_ahead(self, name: str, fp: str, data: ReportData, kinds: list[str]) -> None:
        """Draw a big sweep's plots in page order while its page travels; stop once the page is rebuilt."""
        try:
            for kind in kinds:
                if self.pages.fingerprint_of(f"sweep:{name}") != fp:
                    return
                self._plot(name, fp, data, kind)
        except Exception:  # a request drawing the same plot will say what went wrong
            logger.exception("drawing the plots of sweep %r ahead of their requests failed", name)

    def _contour(self, name: str, fp: str, data: ReportData, pair: tuple[str, str]) -> str | None:
        """The contour over two params the URL chose, drawn once per store change and pair."""
        def build(_fp: str) -> str | None:
            from hpo.results.report.figure import hit_maps
            from hpo.results.report.plots import contour_plot

            with PLOT_LOCK, hit_maps():
                return contour_plot(data, pair)

        return self.parts.get(f"contour:{name}:{pair[0]}:{pair[1]}", fp, build)[1]

    def _trial(self, request: Request) -> dict[str, Any]:
        """The trial's page and JSON, built once per store change (the trial checked first)."""
        name, trial_id = request.path_params["name"], request.path_params["trial_id"]
        fp, view = self.sweep_view(name)
        data = view["data"]
        trial = find_trial(data, trial_id)
        if trial is None:
            raise Refused(f"no trial {shown(trial_id)!r} in sweep {name!r}", 404)
        return self.parts.get(f"trial:{name}:{trial_id}", fp, functools.partial(self._build_trial, data, trial))[1]

    def _build_trial(self, data: ReportData, trial: TrialRecord, _fp: str) -> dict[str, Any]:
        payload = json_ready(trial_payload(self.store, data, trial))
        with PLOT_LOCK:
            svg = trial_plot(payload)
        return {"page": trial_page_html(payload, trial_main(payload, svg)).encode(), "json": json_bytes(payload)}

    # ------------------------------------------------------------ the handlers
    def index(self, request: Request) -> Response:
        try:
            _, sweeps = self.pages.get("index", self.fingerprint(None), lambda _fp: sweep_list(self.store))
        except StoreError as exc:
            return error_page(exc)
        return HTMLResponse(index_page(sweeps, self.store.url_masked))

    def api_sweeps(self, request: Request) -> Response:
        try:
            fp, sweeps = self.pages.get("index", self.fingerprint(None), lambda _fp: sweep_list(self.store))
        except StoreError as exc:
            return json_response({"error": str(exc)}, status=503)
        if matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'})
        return json_response(json_ready({"store": self.store.url_masked, "sweeps": sweeps}), etag=fp)

    def sweep(self, request: Request) -> Response:
        later: Later = []
        try:
            response = self._sweep(request, later)
        except (StoreError, Refused) as exc:
            return error_page(exc)
        response.background = _after(later)
        return response

    def _sweep(self, request: Request, later: Later) -> Response:
        name = request.path_params["name"]
        fp, view = self.sweep_view(name, later)
        data = view["data"]
        pair = _pair(request, data)
        headers = {"ETag": f'"{fp}"', "Cache-Control": "no-cache"}
        fragment = bool(request.query_params.get("fragment"))
        if pair is None:
            return HTMLResponse(view["main"] if fragment else view["page"], headers=headers)
        query = f"&cx={quote(pair[0])}&cy={quote(pair[1])}"
        if view["lazy"]:  # the contour's placeholder asks for it
            main = sweep_main(data, {}, view["generated"], contour=pair, lazy=view["lazy"])
        else:
            chosen = self._contour(name, fp, data, pair)
            if chosen is None:
                return HTMLResponse(view["main"] if fragment else view["page"], headers=headers)
            main = sweep_main(data, {**view["plots"], "contour": chosen}, view["generated"], contour=pair)
        if fragment:
            return HTMLResponse(main, headers=headers)
        return HTMLResponse(sweep_page(data, main, etag=f'"{fp}"', query=query), headers=headers)

    def sweep_plot(self, request: Request) -> Response:
        """``/sweeps/NAME/plots/KIND``: one plot of a big sweep (``?fragment=1``: the bare SVG, for the script;
        204 when it has nothing to draw). A sweep drawn whole answers the same, from the plots on its page."""
        name, kind = request.path_params["name"], request.path_params["kind"]
        if kind not in ORDER:
            return error_page(Refused(f"no plot {shown(kind, 40)!r}; plots: {', '.join(ORDER)}", 404))
        try:
            fp, view = self.sweep_view(name)
            data = view["data"]
            pair = _pair(request, data) if kind == "contour" else None
        except (StoreError, Refused) as exc:
            return error_page(exc)
        svg = view["plots"].get(kind) if not view["lazy"] and pair is None else self._plot(name, fp, data, kind, pair)
        headers = {"ETag": f'"{fp}"', "Cache-Control": "no-cache"}
        if request.query_params.get("fragment"):
            if svg is None:
                return Response(status_code=204, headers=headers)
            return HTMLResponse(inline_svg(svg, slot_prefix(kind)), headers=headers)
        return HTMLResponse(plot_page(data, kind, svg, contour=pair), headers=headers)

    def api_sweep(self, request: Request) -> Response:
        name = request.path_params["name"]
        later: Later = []
        try:
            fp, view = self.sweep_view(name, later)
        except (StoreError, Refused) as exc:
            return error_json(exc)
        if matches(request, fp):
            return Response(status_code=304, headers={"ETag": f'"{fp}"'}, background=_after(later))
        return Response(view["json"].get(), media_type="application/json",
                        headers={"ETag": f'"{fp}"', "Cache-Control": "no-cache"}, background=_after(later))

    def trial_page(self, request: Request) -> Response:
        try:
            built = self._trial(request)
        except (StoreError, Refused) as exc:
            return error_page(exc)
        return HTMLResponse(built["page"])

    def api_trial(self, request: Request) -> Response:
        try:
            built = self._trial(request)
        except (StoreError, Refused) as exc:
            return error_json(exc)
        return Response(built["json"], media_type="application/json", headers={"Cache-Control": "no-cache"})

    def compare(self, request: Request) -> Response:
        wanted = [n.strip() for n in request.query_params.get("sweeps", "").split(",") if n.strip()]
        wanted += [n for n in request.query_params.getlist("pick") if n not in wanted]
        if not wanted:
            return error_page(Refused("name the sweeps to compare: /compare?sweeps=A,B", 400))
        if len(wanted) > MAX_COMPARE:
            return error_page(Refused(f"compare at most {MAX_COMPARE} sweeps, got {len(wanted)}", 400))
        try:
            views = [self.sweep_view(name) for name in wanted]
        except (StoreError, Refused) as exc:
            return error_page(exc)

        def build(_fp: str) -> bytes:
            from hpo.results.dashboard._compare import compare_plot

            series = [compare_series(view["data"]) for _, view in views]
            with PLOT_LOCK:
                svg = compare_plot(series)
            return compare_page(wanted, svg, series).encode()

        fp = ":".join(fp for fp, _ in views)
        return HTMLResponse(self.parts.get("compare:" + "\0".join(wanted), fp, build)[1])

    def script(self, request: Request) -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})
