"""The dashboard's HTML pages. Every string from the store goes through ``esc``; URLs through ``quote``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from .._html import confirmation_section, esc, esc_all, importance_section, sample_note
from .._plots import PLOTS, inline_svg
from .._records import iso
from .._report_data import ReportData
from .._sections import STATUS_LABELS, counts_text, fmt, fmt_duration, hours
from ._assets import CSS
from ._model import budget
from ._trial import trial_url

__all__ = ["compare_page", "index_page", "not_found_page", "plot_page", "plot_url", "sweep_main", "sweep_page",
           "trial_page_html"]

_ORDER = ("completed", "stopped_early", "running", "error")


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            "<nav><a href=\"/\">sweeps</a></nav>"
            f"{body}<script src=\"/static/dash.js\"></script></body></html>\n")


def sweep_url(name: str) -> str:
    """``/sweeps/<name>``, the name percent-encoded."""
    return f"/sweeps/{quote(name, safe='')}"


def index_page(sweeps: list[dict[str, Any]], store_url: str) -> str:
    """``/``: every sweep, with links, and a compare form."""
    rows = []
    for s in sweeps:
        best = "—" if s["best"] is None else f"{fmt(s['best'])}"
        rows.append(
            f"<tr><td><input type=\"checkbox\" name=\"pick\" value=\"{esc(s['name'])}\"></td>"
            f"<td><a href=\"{esc(sweep_url(s['name']))}\">{esc(s['name'])}</a></td>"
            f"<td><span class=\"badge {esc(s['status'])}\">{esc(s['status'])}</span></td>"
            f"<td data-v=\"{s['trials']}\">{esc(counts_text(s['counts']))}</td>"
            f"<td class=num data-v=\"{esc(s['best'] if s['best'] is not None else '')}\">"
            f"{esc(s['metric'])} {esc(best)} ({esc(s['mode'])})</td>"
            f"<td>{esc(s['started'] or '—')}</td>"
            f"<td class=num data-v=\"{esc(s['cpu_hours'] if s['cpu_hours'] is not None else '')}\">"
            f"{esc(hours(s['cpu_hours']))}</td>"
            f"<td class=num data-v=\"{esc(s['gpu_hours'] if s['gpu_hours'] is not None else '')}\">"
            f"{esc(hours(s['gpu_hours']))}</td></tr>")
    table = ("<p>No sweeps in this store yet.</p>" if not sweeps else
             "<form action=\"/compare\" method=\"get\" id=\"compare-form\">"
             "<p><input class=\"filter\" type=\"search\" placeholder=\"filter sweeps\"> "
             "<span id=\"shown\"></span></p>"
             "<div class=\"scroll\"><table class=\"trials\"><thead><tr><th>compare</th><th>name</th>"
             "<th>status</th><th>trials</th><th>best</th><th>started</th><th>CPU-hours</th><th>GPU-hours</th>"
             f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
             "<p><button type=\"submit\">compare the ticked sweeps</button></p></form>")
    return _page("hpo sweeps", f"<h1>Sweeps</h1><p class=\"sub\">store {esc(store_url)}</p>{table}")


def _status_card(data: ReportData) -> str:
    counts = data.sweep.counts
    total = sum(counts.values()) or 1
    spans = "".join(f"<span class=\"s-{s}\" style=\"width:{100 * counts.get(s, 0) / total:.2f}%\"></span>"
                    for s in _ORDER if counts.get(s))
    legend = "".join(f"<span><i class=\"dot s-{s}\"></i>{esc(STATUS_LABELS[s])} "
                     f"<b id=\"count-{s}\">{counts.get(s, 0)}</b></span>" for s in _ORDER)
    return (f"<div class=\"card\"><h3>Trials by status</h3><div class=\"big\" id=\"trials-total\">"
            f"{data.sweep.num_trials}</div><div class=\"bar\">{spans}</div><div class=\"legend\">{legend}</div></div>")


def _best_card(data: ReportData) -> str:
    best = data.best
    value = fmt(best.last_metric) if best else "—"
    who = (f"trial <a href=\"{esc(trial_url(data.sweep.name, best.trial_id))}\"><code>{esc(best.trial_id)}</code></a>,"
           f" {best.iterations} iterations" if best else "no result yet")
    return (f"<div class=\"card\"><h3>Best so far · {esc(data.sweep.metric)} ({esc(data.sweep.mode)})</h3>"
            f"<div class=\"big\" id=\"best-value\">{esc(value)}</div><div class=\"sub\">{who}</div></div>")


def _budget_card(data: ReportData) -> str:
    b = budget(data)
    full, expected, used = b["full"], b["expected"], b["used"]
    scale = full or expected or used or 1
    meter = (f"<div class=\"meter\"><div class=\"used\" style=\"width:{min(100.0, 100 * used / scale):.2f}%\">"
             "</div>" + (f"<div class=\"mark\" title=\"expected\" style=\"left:{100 * expected / scale:.2f}%\">"
                         "</div>" if expected and full else "") + "</div>")
    planned = " · ".join(p for p in (f"expected {expected}" if expected else "", f"full {full}" if full else "")
                         if p) or "no plan recorded"
    trials = (f"{b['trials_started']} of {b['trials_planned']} trials started" if b["trials_planned"]
              else f"{b['trials_started']} trials started")
    return (f"<div class=\"card\"><h3>Budget used ({esc(b['time_attr'])})</h3>"
            f"<div class=\"big\" id=\"budget-used\">{used}</div>{meter}"
            f"<div class=\"sub\">planned: {esc(planned)}<br>{esc(trials)}</div></div>")


def _cost_card(data: ReportData) -> str:
    cost = data.cost
    res = (data.plan or {}).get("resources") or {}
    per = ", ".join(f"{k} {fmt(v)}" for k, v in res.items()) if isinstance(res, dict) else ""
    return (f"<div class=\"card\"><h3>Cost</h3><div class=\"big\"><span id=\"gpu-hours\">{esc(hours(cost.gpu_hours))}"
            f"</span> GPU-h</div><div class=\"sub\"><span id=\"cpu-hours\">{esc(hours(cost.cpu_hours))}</span> "
            f"CPU-h · per trial: {esc(per or 'unknown')}<br>duration {esc(fmt_duration(data.sweep.duration_s))}"
            "</div></div>")


def _trial_table(data: ReportData) -> str:
    from .._cost import trial_cost

    columns = data.table_columns()
    metric = data.sweep.metric
    headers = ["#", "trial", "status", f"{metric} (last)", f"{metric} (best)", "iterations", "GPU-h", *columns]
    rows = []
    for rank, trial in enumerate(data.trials, start=1):
        config = data.flat_configs[trial.trial_id]
        cost = trial_cost(trial, data.plan)
        cells = [(rank, str(rank)), (trial.trial_id, trial.trial_id),
                 (trial.status, STATUS_LABELS.get(trial.status, trial.status)),
                 (trial.last_metric, fmt(trial.last_metric)), (trial.best_metric, fmt(trial.best_metric)),
                 (trial.iterations, str(trial.iterations)), (cost.gpu_hours, hours(cost.gpu_hours)),
                 *[(config.get(c), fmt(config.get(c))) for c in columns]]
        # Escaped in one go: [url, the values (data-v) ..., the texts ...].
        escaped = esc_all([trial_url(data.sweep.name, trial.trial_id),
                           *['' if v is None else str(v) for v, _ in cells], *[text for _, text in cells]])
        values, texts = escaped[1:len(cells) + 1], escaped[len(cells) + 1:]
        texts[1] = f"<a href=\"{escaped[0]}\">{texts[1]}</a>"
        tds = "".join(f"<td data-v=\"{v}\">{text}</td>" for v, text in zip(values, texts, strict=True))
        rows.append(f"<tr data-trial=\"{values[1]}\">{tds}</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return ("<h2>Trials</h2><p><input class=\"filter\" type=\"search\" placeholder=\"filter trials (any text)\"> "
            "<span id=\"shown\"></span></p>"
            f"<div class=\"scroll\"><table class=\"trials\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _trial_info(data: ReportData) -> str:
    """Each drawn trial's metric and config in one line, for the plots' hover (JSON the script reads, never
    runs): a sampled sweep's plots have no other trial to hover."""
    keys = {p.key for p in data.params}
    info = {t.trial_id: [None if t.last_metric is None else float(f"{t.last_metric:.6g}"),
                         ", ".join(f"{k}={fmt(v)}" for k, v in data.flat_configs[t.trial_id].items()
                                   if k in keys or not keys)]
            for t in data.drawn}
    # Every "<" escaped: text from the store can never open or close a tag inside the data block.
    text = json.dumps(info, separators=(",", ":"), default=str).replace("<", "\\u003c")
    return f"<script type=\"application/json\" id=\"trial-info\">{text}</script>"


def _contour_pick(data: ReportData, chosen: tuple[str, str] | None) -> str:
    """Two selects (and a button) choosing the contour's params: a plain GET form, kept in the URL."""
    from .._plots import contour_axes

    keys = [a.key for a in contour_axes(data)]
    pair = chosen or tuple(keys[:2])

    def select(name: str, current: str) -> str:
        options = "".join(f"<option{' selected' if k == current else ''}>{esc(k)}</option>" for k in keys)
        return f"<select name=\"{name}\">{options}</select>"

    return (f"<form class=\"contour-pick\" method=\"get\">x {select('cx', pair[0])} y {select('cy', pair[1])} "
            "<button type=\"submit\">draw</button></form>")


def plot_url(name: str, kind: str, *, contour: tuple[str, str] | None = None, fragment: bool = False) -> str:
    """``/sweeps/NAME/plots/KIND``: one plot drawn on its own (``fragment``: the bare SVG the script inserts)."""
    query = [("fragment", "1")] if fragment else []
    if kind == "contour" and contour:
        query += [("cx", contour[0]), ("cy", contour[1])]
    return f"{sweep_url(name)}/plots/{quote(kind, safe='')}" + ("?" + urlencode(query) if query else "")


def _slot(data: ReportData, kind: str, contour: tuple[str, str] | None) -> str:
    """A plot's place on a big sweep's first page: the script fills it; without the script, a link to it."""
    name = data.sweep.name
    return (f"<div class=\"plot-slot\" data-src=\"{esc(plot_url(name, kind, contour=contour, fragment=True))}\">"
            f"<p class=\"sub\">Drawn after the page: <a href=\"{esc(plot_url(name, kind, contour=contour))}\">"
            "open this plot</a></p></div>")


def sweep_main(data: ReportData, plots: dict[str, str], generated: str, *,
               contour: tuple[str, str] | None = None, lazy: Sequence[str] = ()) -> str:
    """The live part of ``/sweeps/NAME`` (what the script swaps in when the store changed); ``contour``: the
    params the contour was drawn over, when the URL chose them; ``lazy``: plots drawn after the page (each
    a placeholder here, on its own URL), for a big sweep."""
    sweep = data.sweep
    drawn = [(key, inline_svg(svg, f"d{i}")) for i, (key, svg) in enumerate(plots.items(), start=1)]
    drawn += [(key, _slot(data, key, contour)) for key in lazy if key not in plots]
    figures = "".join(f"<figure id=\"plot-{esc(key)}\"><h3>{esc(PLOTS[key])}</h3>"
                      f"{_contour_pick(data, contour) if key == 'contour' else ''}{body}</figure>"
                      for key, body in drawn)
    return (f"<h1>Sweep {esc(sweep.name)} <span class=\"badge {esc(sweep.status)}\" id=\"sweep-status\">"
            f"{esc(sweep.status)}</span></h1>"
            f"<p class=\"sub\">{esc(sweep.metric)} ({esc(sweep.mode)}) · started {esc(fmt(iso(sweep.started)))}"
            f" · <span class=\"live\" id=\"live\">as of {esc(generated)}, live</span></p>"
            f"<div class=\"cards\">{_status_card(data)}{_best_card(data)}{_budget_card(data)}{_cost_card(data)}</div>"
            "<h2>Plots</h2><p class=\"sub\">Hover a point or line for its trial, click to open it; drag on a "
            "parallel-coordinates axis or across a plot to select trials (kept in the URL).</p>"
            f"{sample_note(data)}<p id=\"selection\"></p>{figures or '<p>No results to plot yet.</p>'}"
            f"{_trial_info(data)}"
            f"{confirmation_section(data, link=trial_url)}{importance_section(data)}{_trial_table(data)}")


def sweep_page(data: ReportData, main: str, *, etag: str, query: str = "") -> str:
    """``/sweeps/NAME``: the live part inside a ``<main>`` the script refreshes (``query``: the URL's own
    choices, such as the contour's params, that each refresh keeps)."""
    url = sweep_url(data.sweep.name)
    api = f"/api{url}"
    return _page(f"hpo: {data.sweep.name}",
                 f"<main data-api=\"{esc(api)}\" data-fragment=\"{esc(url)}?fragment=1{esc(query)}\" "
                 f"data-etag=\"{esc(etag)}\" "
                 f"data-live=\"1\" data-trials=\"{esc(url)}/trials/\" data-metric=\"{esc(data.sweep.metric)}\">"
                 f"{main}</main>")


def plot_page(data: ReportData, kind: str, svg: str | None, *, contour: tuple[str, str] | None = None) -> str:
    """``/sweeps/NAME/plots/KIND`` opened on its own (the link a page without its script offers)."""
    from ._lazy import slot_prefix

    name = data.sweep.name
    body = (inline_svg(svg, slot_prefix(kind)) if svg else "<p id=\"reason\">Nothing to draw yet.</p>")
    return _page(f"hpo: {name} / {PLOTS[kind]}",
                 f"<h1>{esc(PLOTS[kind])}</h1><p class=\"sub\">sweep <a href=\"{esc(sweep_url(name))}\">"
                 f"{esc(name)}</a></p><figure id=\"plot-{esc(kind)}\">{body}</figure>")


def trial_page_html(payload: dict[str, Any], main: str) -> str:
    """``/sweeps/NAME/trials/ID``: one trial (not live: reload for news)."""
    return _page(f"hpo: {payload['sweep']} / {payload['trial']['trial_id']}", f"<main>{main}</main>")


def compare_page(names: list[str], svg: str | None, rows: list[dict[str, Any]]) -> str:
    """``/compare?sweeps=A,B``: best so far against trials and against GPU-hours."""
    body = "".join(
        f"<tr><td><a href=\"{esc(sweep_url(r['name']))}\">{esc(r['name'])}</a></td><td>{esc(r['metric'])} "
        f"({esc(r['mode'])})</td><td class=num>{esc(fmt(r['best'][-1] if r['best'] else None))}</td>"
        f"<td class=num>{len(r['trials'])}</td>"
        f"<td class=num>{esc(hours(r['gpu_hours'][-1] if r['gpu_hours'] else 0.0))}</td>"
        f"<td class=num>{esc(hours(r['cpu_hours'][-1] if r['cpu_hours'] else 0.0))}</td></tr>" for r in rows)
    plot = inline_svg(svg, "c1") if svg else "<p>No finished trial with the metric yet.</p>"
    return _page("hpo: compare " + ", ".join(names),
                 f"<h1>Compare {esc(', '.join(names))}</h1><figure id=\"plot-compare\">{plot}</figure>"
                 "<div class=\"scroll\"><table class=\"trials\"><thead><tr><th>sweep</th><th>metric</th><th>best</th>"
                 "<th>trials finished</th><th>GPU-hours</th><th>CPU-hours</th></tr></thead>"
                 f"<tbody>{body}</tbody></table></div>")


def not_found_page(message: str, *, status: int) -> str:
    """The 404 (or 400) page: the one-line reason, escaped."""
    title = "not found" if status == 404 else "bad request"
    return _page(f"hpo: {title}", f"<h1>{status}: {esc(title)}</h1><p id=\"reason\">{esc(message)}</p>"
                 "<p><a href=\"/\">all sweeps</a></p>")
