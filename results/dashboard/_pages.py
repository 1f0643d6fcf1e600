"""The dashboard's HTML pages, built from markup templates (``hpo.results.report.markup.html``): every value from the
store is escaped on its way in, URLs are percent-encoded first, numbers are checked as numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from hpo.results.dashboard._assets import CSS
from hpo.results.dashboard._model import budget
from hpo.results.dashboard._parts import guarded, malformed_note, resources_text, status_class, sweep_url
from hpo.results.dashboard._trial import trial_url
from hpo.results.formatting import format_duration, format_hours
from hpo.results.report.data import ReportData
from hpo.results.report.figure import inline_svg
from hpo.results.report.html import (
    confirmation_section,
    errors_section,
    esc_all,
    importance_section,
    plot_notes_html,
    sample_note,
)
from hpo.results.report.markup import Markup, count, html, join, number
from hpo.results.report.plots import PLOTS
from hpo.results.report.sections import STATUS_LABELS, counts_text, fmt
from hpo.results.store.records import iso

__all__ = ["compare_page", "index_page", "not_found_page", "plot_page", "plot_url", "sweep_main", "sweep_page",
           "trial_page_html"]

_ORDER = ("completed", "stopped_early", "running", "error")


def _page(title: str, body: Markup) -> str:
    return str(html("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>{title}</title><style>{css}</style></head><body>"
                    "<nav><a href=\"/\">sweeps</a></nav>"
                    "{body}<script src=\"/static/dash.js\"></script></body></html>\n",
                    title=title, css=Markup(CSS), body=body))


def _value(number_or_none: object) -> str:
    """A ``data-v`` sort value: the number, or empty when it is not one."""
    checked = number(number_or_none)
    return "" if checked is None else str(checked)


def index_page(sweeps: list[dict[str, Any]], store_url: str) -> str:
    """``/``: every sweep, with links, and a compare form."""
    rows = []
    for s in sweeps:
        best = "—" if number(s["best"]) is None else fmt(s["best"])
        shown = "lost" if s.get("lost") else s["status"]  # running, but its driver died unannounced
        rows.append(html(
            "<tr><td><input type=\"checkbox\" name=\"pick\" value=\"{name}\"></td>"
            "<td><a href=\"{url}\">{name}</a></td>"
            "<td><span class=\"badge {cls}\">{status}</span></td>"
            "<td data-v=\"{trials}\">{counts}</td>"
            "<td class=num data-v=\"{best_v}\">{metric} {best} ({mode})</td>"
            "<td>{started}</td>"
            "<td class=num data-v=\"{cpu_v}\">{cpu}</td>"
            "<td class=num data-v=\"{gpu_v}\">{gpu}</td></tr>",
            name=s["name"], url=sweep_url(s["name"]), cls=status_class(shown), status=shown,
            trials=_value(s["trials"]), counts=counts_text(s["counts"]), best_v=_value(s["best"]), metric=s["metric"],
            best=best, mode=s["mode"], started=s["started"] or "—", cpu_v=_value(s["cpu_hours"]),
            cpu=format_hours(number(s["cpu_hours"])), gpu_v=_value(s["gpu_hours"]),
            gpu=format_hours(number(s["gpu_hours"]))))
    table = (Markup("<p>No sweeps in this store yet.</p>") if not sweeps else html(
        "<form action=\"/compare\" method=\"get\" id=\"compare-form\">"
        "<p><input class=\"filter\" type=\"search\" placeholder=\"filter sweeps\"> "
        "<span id=\"shown\"></span></p>"
        "<div class=\"scroll\"><table class=\"trials\"><thead><tr><th>compare</th><th>name</th>"
        "<th>status</th><th>trials</th><th>best</th><th>started</th><th>CPU-hours</th><th>GPU-hours</th>"
        "</tr></thead><tbody>{rows}</tbody></table></div>"
        "<p><button type=\"submit\">compare the ticked sweeps</button></p></form>", rows=join(rows)))
    return _page("hpo sweeps", html("<h1>Sweeps</h1><p class=\"sub\">store {store}</p>{table}",
                                    store=store_url, table=table))


def _status_card(data: ReportData) -> Markup:
    counts = {s: count(n) or 0 for s, n in data.counts.items()}  # replaced trials not counted
    total = sum(counts.values()) or 1
    spans = join(html("<span class=\"s-{s}\" style=\"width:{w:.2f}%\"></span>", s=s, w=100 * counts.get(s, 0) / total)
                 for s in _ORDER if counts.get(s))
    legend = join(html("<span><i class=\"dot s-{s}\"></i>{label} <b id=\"count-{s}\">{n}</b></span>",
                       s=s, label=STATUS_LABELS[s], n=counts.get(s, 0)) for s in _ORDER)
    return html("<div class=\"card\"><h3>Trials by status</h3><div class=\"big\" id=\"trials-total\">"
                "{total}</div><div class=\"bar\">{spans}</div><div class=\"legend\">{legend}</div></div>",
                total=sum(counts.values()), spans=spans, legend=legend)


def _best_card(data: ReportData) -> Markup:
    best = data.best
    value = fmt(number(best.last_metric)) if best else "—"
    who = (html("trial <a href=\"{url}\"><code>{trial}</code></a>, {n} iterations",
                url=trial_url(data.sweep.name, best.trial_id), trial=best.trial_id, n=fmt(count(best.iterations)))
           if best else Markup("no result yet"))
    return html("<div class=\"card\"><h3>Best so far · {metric} ({mode})</h3>"
                "<div class=\"big\" id=\"best-value\">{value}</div><div class=\"sub\">{who}</div></div>",
                metric=data.sweep.metric, mode=data.sweep.mode, value=value, who=who)


def _budget_card(data: ReportData) -> Markup:
    b = budget(data)
    full, expected, used = number(b["full"]), number(b["expected"]), number(b["used"]) or 0
    scale = full or expected or used or 1
    mark = (html("<div class=\"mark\" title=\"expected\" style=\"left:{left:.2f}%\"></div>",
                 left=100 * expected / scale) if expected and full else Markup(""))
    meter = html("<div class=\"meter\"><div class=\"used\" style=\"width:{width:.2f}%\"></div>{mark}</div>",
                 width=min(100.0, 100 * used / scale), mark=mark)
    planned = " · ".join(p for p in (f"expected {fmt(expected)}" if expected else "",
                                     f"full {fmt(full)}" if full else "") if p) or "no plan recorded"
    started, planned_trials = fmt(count(b["trials_started"])), count(b["trials_planned"])
    trials = (f"{started} of {planned_trials} trials started" if planned_trials else f"{started} trials started")
    return html("<div class=\"card\"><h3>Budget used ({time_attr})</h3>"
                "<div class=\"big\" id=\"budget-used\">{used}</div>{meter}"
                "<div class=\"sub\">planned: {planned}<br>{trials}</div></div>",
                time_attr=b["time_attr"], used=fmt(used), meter=meter, planned=planned, trials=trials)


def _cost_card(data: ReportData) -> Markup:
    cost = data.cost
    return html("<div class=\"card\"><h3>Cost</h3><div class=\"big\"><span id=\"gpu-hours\">{gpu}</span> GPU-h{note}"
                "</div><div class=\"sub\"><span id=\"cpu-hours\">{cpu}</span> CPU-h · per trial: {per}<br>"
                "duration {duration}</div></div>",
                gpu=format_hours(number(cost.gpu_hours)), note=cost.gpu_note, cpu=format_hours(number(cost.cpu_hours)),
                per=resources_text((data.plan or {}).get("resources")),
                duration=format_duration(number(data.sweep.duration_s)))


def _trial_table(data: ReportData) -> Markup:
    from hpo.results.analysis.cost import trial_cost

    columns = data.table_columns()
    metric = data.sweep.metric
    headers = ["#", "trial", "status", f"{metric} (last)", f"{metric} (best)", "iterations", "GPU-h", *columns]
    rows = []
    for rank, trial in enumerate(data.trials, start=1):
        config = data.flat_configs[trial.trial_id]
        cost = trial_cost(trial, data.plan, until=data.sweep.ended_at)
        cells = [(rank, str(rank)), (trial.trial_id, trial.trial_id),
                 (trial.status, STATUS_LABELS.get(trial.status, trial.status)),
                 (trial.last_metric, fmt(trial.last_metric)), (trial.best_metric, fmt(trial.best_metric)),
                 (trial.iterations, str(trial.iterations)), (cost.gpu_hours, format_hours(number(cost.gpu_hours))),
                 *[(config.get(c), fmt(config.get(c))) for c in columns]]
        # The table of a big sweep has 100,000 cells: its texts are escaped in one call (the same escape as
        # ``html``'s), in order [url, the values (data-v) ..., the texts ...], and joined as markup below.
        escaped = esc_all([trial_url(data.sweep.name, trial.trial_id),
                           *['' if v is None else str(v) for v, _ in cells], *[text for _, text in cells]])
        values, texts = escaped[1:len(cells) + 1], escaped[len(cells) + 1:]
        texts[1] = f"<a href=\"{escaped[0]}\">{texts[1]}</a>"
        tds = "".join(f"<td data-v=\"{v}\">{text}</td>" for v, text in zip(values, texts, strict=True))
        rows.append(f"<tr data-trial=\"{values[1]}\">{tds}</tr>")
    head = join(html("<th>{}</th>", h) for h in headers)
    return html("<h2>Trials</h2><p><input class=\"filter\" type=\"search\" placeholder=\"filter trials (any text)\">"
                " <span id=\"shown\"></span></p>"
                "<div class=\"scroll\"><table class=\"trials\"><thead><tr>{head}</tr></thead>"
                "<tbody>{rows}</tbody></table></div>", head=head, rows=Markup("".join(rows)))


def _trial_info(data: ReportData) -> Markup:
    """Each drawn trial's metric and config in one line, for the plots' hover (JSON the script reads, never
    runs): a sampled sweep's plots have no other trial to hover."""
    keys = {p.key for p in data.params}
    info = {t.trial_id: [None if number(t.last_metric) is None else float(f"{t.last_metric:.6g}"),
                         ", ".join(f"{k}={fmt(v)}" for k, v in data.flat_configs[t.trial_id].items()
                                   if k in keys or not keys)]
            for t in data.drawn}
    # Every "<", ">" and "&" escaped as JSON: text from the store can never open or close a tag in the data block.
    text = (json.dumps(info, separators=(",", ":"), default=str)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return html("<script type=\"application/json\" id=\"trial-info\">{}</script>", Markup(text))


def _contour_pick(data: ReportData, chosen: tuple[str, str] | None) -> Markup:
    """Two selects (and a button) choosing the contour's params: a plain GET form, kept in the URL."""
    from hpo.results.report.plots import contour_axes

    keys = [a.key for a in contour_axes(data)]
    pair = chosen or tuple(keys[:2])

    def select(name: str, current: str) -> Markup:
        options = join(html("<option{selected}>{key}</option>", key=k,
                            selected=Markup(" selected" if k == current else "")) for k in keys)
        return html("<select name=\"{name}\">{options}</select>", name=name, options=options)

    return html("<form class=\"contour-pick\" method=\"get\">x {x} y {y} <button type=\"submit\">draw</button>"
                "</form>", x=select("cx", pair[0]), y=select("cy", pair[1]))


def plot_url(name: str, kind: str, *, contour: tuple[str, str] | None = None, fragment: bool = False) -> str:
    """``/sweeps/NAME/plots/KIND``: one plot drawn on its own (``fragment``: the bare SVG the script inserts)."""
    query = [("fragment", "1")] if fragment else []
    if kind == "contour" and contour:
        query += [("cx", contour[0]), ("cy", contour[1])]
    return f"{sweep_url(name)}/plots/{quote(kind, safe='')}" + ("?" + urlencode(query) if query else "")


def _slot(data: ReportData, kind: str, contour: tuple[str, str] | None) -> Markup:
    """A plot's place on a big sweep's first page: the script fills it; without the script, a link to it."""
    name = data.sweep.name
    return html("<div class=\"plot-slot\" data-src=\"{src}\"><p class=\"sub\">Drawn after the page: "
                "<a href=\"{href}\">open this plot</a></p></div>",
                src=plot_url(name, kind, contour=contour, fragment=True), href=plot_url(name, kind, contour=contour))


def sweep_main(data: ReportData, plots: dict[str, str], generated: str, *,
               contour: tuple[str, str] | None = None, lazy: Sequence[str] = ()) -> str:
    """The live part of ``/sweeps/NAME`` (what the script swaps in when the store changed); ``contour``: the
    params the contour was drawn over, when the URL chose them; ``lazy``: plots drawn after the page (each
    a placeholder here, on its own URL), for a big sweep."""
    sweep = data.sweep
    drawn = [(key, Markup(inline_svg(svg, f"d{i}"))) for i, (key, svg) in enumerate(plots.items(), start=1)]
    drawn += [(key, _slot(data, key, contour)) for key in lazy if key not in plots]
    pick = guarded("contour's axes", lambda: _contour_pick(data, contour)) if "contour" in dict(drawn) else ""
    figures = join(html("<figure id=\"plot-{key}\"><h3>{title}</h3>{pick}{body}</figure>", key=key,
                        title=PLOTS[key], body=body, pick=pick if key == "contour" else "")
                   for key, body in drawn)
    cards = join(guarded(what, lambda render=render: render(data)) for what, render in (
        ("trials-by-status card", _status_card), ("best-so-far card", _best_card), ("budget card", _budget_card),
        ("cost card", _cost_card)))
    return str(html(
        "<h1>Sweep {name} <span class=\"badge {cls}\" id=\"sweep-status\">{status}</span></h1>"
        "<p class=\"sub\">{metric} ({mode}) · started {started} · <span class=\"live\" id=\"live\">as of "
        "{generated}, live</span></p>{malformed}<div class=\"cards\">{cards}</div>{errors}"
        "<h2>Plots</h2><p class=\"sub\">Hover a point or line for its trial, click to open it; drag on a "
        "parallel-coordinates axis or across a plot to select trials (kept in the URL).</p>"
        "{sample}{notes}<p id=\"selection\"></p>{figures}{info}{confirmation}{importance}{table}",
        name=sweep.name, cls=status_class(sweep.shown_status), status=sweep.shown_status, metric=sweep.metric,
        mode=sweep.mode,
        started=fmt(iso(sweep.started)), generated=generated, cards=cards,
        malformed=malformed_note({t.trial_id: list(t.malformed) for t in data.trials if t.malformed}),
        sample=Markup(sample_note(data)), figures=figures,
        notes=guarded("plots' notes", lambda: Markup(plot_notes_html(data, dict(drawn)))),
        errors=guarded("errors", lambda: Markup(errors_section(data, link=trial_url))),
        info=guarded("plots' hover data", lambda: _trial_info(data)),
        confirmation=guarded("confirmation", lambda: Markup(confirmation_section(data, link=trial_url))),
        importance=guarded("importance table", lambda: Markup(importance_section(data))),
        table=guarded("trials table", lambda: _trial_table(data))))


def sweep_page(data: ReportData, main: str, *, etag: str, query: str = "") -> str:
    """``/sweeps/NAME``: the live part inside a ``<main>`` the script refreshes (``query``: the URL's own
    choices, such as the contour's params, that each refresh keeps)."""
    url = sweep_url(data.sweep.name)
    return _page(f"hpo: {data.sweep.name}", html(
        "<main data-api=\"{api}\" data-fragment=\"{fragment}\" data-etag=\"{etag}\" data-live=\"1\" "
        "data-trials=\"{trials}\" data-metric=\"{metric}\">{main}</main>",
        api=f"/api{url}", fragment=f"{url}?fragment=1{query}", etag=etag, trials=f"{url}/trials/",
        metric=data.sweep.metric, main=Markup(main)))


def plot_page(data: ReportData, kind: str, svg: str | None, *, contour: tuple[str, str] | None = None) -> str:
    """``/sweeps/NAME/plots/KIND`` opened on its own (the link a page without its script offers)."""
    from hpo.results.dashboard._lazy import slot_prefix

    name = data.sweep.name
    body = (Markup(inline_svg(svg, slot_prefix(kind))) if svg else Markup("<p id=\"reason\">Nothing to draw yet.</p>"))
    return _page(f"hpo: {name} / {PLOTS[kind]}", html(
        "<h1>{title}</h1><p class=\"sub\">sweep <a href=\"{url}\">{name}</a></p><figure id=\"plot-{kind}\">"
        "{body}</figure>", title=PLOTS[kind], url=sweep_url(name), name=name, kind=kind, body=body))


def trial_page_html(payload: dict[str, Any], main: str) -> str:
    """``/sweeps/NAME/trials/ID``: one trial (not live: reload for news)."""
    return _page(f"hpo: {payload['sweep']} / {payload['trial']['trial_id']}", html("<main>{}</main>", Markup(main)))


def compare_page(names: list[str], svg: str | None, rows: list[dict[str, Any]]) -> str:
    """``/compare?sweeps=A,B``: best so far against trials and against GPU-hours."""
    body = join(html(
        "<tr><td><a href=\"{url}\">{name}</a></td><td>{metric} ({mode})</td><td class=num>{best}</td>"
        "<td class=num>{trials}</td><td class=num>{errored}</td><td class=num>{gpu}</td><td class=num>{cpu}</td></tr>",
        url=sweep_url(r["name"]), name=r["name"], metric=r["metric"], mode=r["mode"],
        best=fmt(r["best"][-1] if r["best"] else None), trials=len(r["trials"]), errored=r["errored"],
        gpu=format_hours(r["gpu_hours"][-1] if r["gpu_hours"] else 0.0),
        cpu=format_hours(r["cpu_hours"][-1] if r["cpu_hours"] else 0.0)) for r in rows)
    plot = Markup(inline_svg(svg, "c1")) if svg else Markup("<p>No finished trial with the metric yet.</p>")
    return _page("hpo: compare " + ", ".join(names), html(
        "<h1>Compare {names}</h1><figure id=\"plot-compare\">{plot}</figure>"
        "<div class=\"scroll\"><table class=\"trials\"><thead><tr><th>sweep</th><th>metric</th><th>best</th>"
        "<th>trials finished</th><th>trials errored</th><th>GPU-hours</th><th>CPU-hours</th></tr></thead>"
        "<tbody>{body}</tbody></table>"
        "</div>", names=", ".join(names), plot=plot, body=body))


def not_found_page(message: str, *, status: int) -> str:
    """The 404 (or 400) page: the one-line reason, escaped."""
    title = "not found" if status == 404 else "bad request"
    return _page(f"hpo: {title}", html("<h1>{status}: {title}</h1><p id=\"reason\">{message}</p>"
                                       "<p><a href=\"/\">all sweeps</a></p>", status=status, title=title,
                                       message=message))
