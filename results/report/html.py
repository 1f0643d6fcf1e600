"""The self-contained HTML report: inline CSS, inline SVG, no scripts, no network references.

Every string that came from the store (names, specs, configs, errors) goes through ``esc``.
"""

from __future__ import annotations

from collections.abc import Callable

from hpo.results.report.data import ReportData, yaml_text
from hpo.results.report.figure import inline_svg
from hpo.results.report.markup import Markup, esc, html, join, kv_table
from hpo.results.report.plots import PLOTS
from hpo.results.report.sections import (
    IMPORTANCE_NOTE,
    LINEAGE_NOTE,
    MAX_ERROR_IDS,
    all_trials_table,
    best_metrics,
    best_rows,
    confirmation_note,
    confirmation_table,
    error_table,
    errors_note,
    fmt,
    importance_note,
    importance_table,
    lineage_table,
    no_best_text,
    plot_notes,
    replaced_rows,
    summary_rows,
    top_table,
)
from hpo.results.secrets import mask_secrets

__all__ = ["REPORT_CSS", "confirmation_section", "errors_section", "esc", "esc_all", "importance_section",
           "plot_notes_html", "render_html", "sample_note"]

MAX_ERRORS = 100  # distinct errors listed; the rest are counted
MAX_ERROR_CHARS = 4_000

# The report's stylesheet; the dashboard's pages extend it (same tables, badges, figures).
REPORT_CSS = """
:root { --fg:#1d2433; --muted:#5b6478; --line:#d9dde6; --accent:#ff7f0e; --bg:#ffffff; --alt:#f6f7fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px;
     border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top;
         overflow-wrap: break-word; }
th { background: var(--alt); font-weight: 600; }
table.kv { table-layout: fixed; } table.kv td { overflow-wrap: anywhere; }
table.kv th { width: 28%; background: none; color: var(--muted); font-weight: 500; }
tr.best td { background: #fff4e8; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: var(--alt); padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 12.5px;
      white-space: pre-wrap; overflow-wrap: anywhere; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: var(--alt);
         border: 1px solid var(--line); }
.badge.finished { background:#e6f4ea; } .badge.failed { background:#fdecea; }
.badge.running { background:#e8f0fe; } .badge.interrupted, .badge.lost { background:#fff4e5; }
figure { margin: 12px 0 24px; } figure svg { width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; }
.scroll { overflow-x: auto; } details { margin: 8px 0; } summary { cursor: pointer; color: var(--muted); }
.metric { font-size: 20px; font-weight: 600; color: var(--accent); }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
"""

_CAPTIONS = {
    "pareto": "Several objectives: each trial by its last values of the first two; the Pareto set (no trial "
              "is as good on every objective and better on one) in orange.",
    "curves": "Metric per training iteration. Early-stopped trials are faint and marked x at the rung where "
              "they stopped; errored trials dashed; the best trial thick.",
    "params": "Each trial's last metric against each searched hyperparameter (log axes for log-scaled "
              "params; choices as categories). The star is the best trial; faint points stopped early.",
    "best_so_far": "Best metric reported so far against wall time since the sweep started.",
    "rungs": "How many trials reached each ASHA rung; the last bar is max_t.",
    "parallel": "One line per trial across every searched hyperparameter (log axes for log-scaled params, "
                "choices as levels) and the metric; the top 10 trials in orange.",
    "timeline": "Each trial from its start to its end, coloured by status (x: stopped by the scheduler at a "
                "rung); above, how many ran at once against the plan's slots: gaps are idle slots.",
    "contour": "The last metric over the two most important numeric hyperparameters, interpolated between the "
               "trials (the dots); the star is the best trial.",
}


def esc_all(texts: list[str]) -> list[str]:
    """``[esc(t) for t in texts]``, escaping them as one string (a table of 10,000 rows escapes 10,000
    strings, not 130,000)."""
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:  # a NUL inside a text: one by one
        return [esc(t) for t in texts]
    return esc(joined).split("\0") if texts else []


def _table(headers: list[str], rows: list[list[str]], *, best_first: bool = False) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    lines = []
    for i, row in enumerate(rows):
        cls = ' class="best"' if best_first and i == 0 else ""
        cells = "".join(f"<td{' class=num' if j in (0, 3, 4, 5) else ''}>{text}</td>"
                        for j, text in enumerate(esc_all(row)))
        lines.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'


def _best_section(data: ReportData) -> str:
    best = data.best
    if best is None:
        return f"<h2>Best trial</h2><p>{esc(no_best_text(data))}</p>"
    command = data.reproduce_command() or ""
    spec_note = ("" if data.spec.get("source") else
                 "<p>Here <code>spec.yaml</code> is the resolved spec shown at the end of this report.</p>")
    return (
        "<h2>Best trial</h2>"
        f'<p><span class="metric" id="best-metric">{esc(data.sweep.metric)} = {esc(fmt(best.last_metric))}</span>'
        f" &nbsp;trial <code>{esc(best.trial_id)}</code></p>"
        f"{kv_table(best_rows(data, best))}"
        "<h3>Config</h3>"
        f"<pre><code>{esc(yaml_text(best.config))}</code></pre>"
        "<h3>Reproduce</h3>"
        "<p>Rerun this config once for the full max_t:</p>"
        f"<pre><code>{esc(command)}</code></pre>{spec_note}"
        f"<details><summary>Last reported metrics</summary>{kv_table(best_metrics(best))}</details>"
    )


def confirmation_section(data: ReportData, *, link: Callable[[str, str], str] | None = None) -> str:
    """The confirmation's verdict and table (empty for a sweep never confirmed); ``link(sweep, trial_id)``,
    when given, makes each trial id a link (the dashboard's trial pages)."""
    found = data.confirmation
    if found is None:
        return ""
    headers, rows = confirmation_table(data)
    verdict = "".join(f"<li>{esc(line)}</li>" for line in found.verdict())
    table = _plain_table(headers, rows)
    if link is not None:
        for row in rows:
            trial, href = esc(row[1]), esc(link(found.parent, row[1]))
            table = table.replace(f"<td>{trial}</td>", f'<td><a href="{href}">{trial}</a></td>', 1)
    return (f'<h2>Confirmation</h2><p class="sub">{esc(confirmation_note(data))}</p>'
            f'<ul id="confirmation-verdict">{verdict}</ul><div id="confirmation">{table}</div>')


def errors_section(data: ReportData, *, link: Callable[[str, str], str] | None = None) -> str:
    """The Errors section: each distinct error once, most frequent first, with how many trials it ended, their
    ids and (on demand) the whole text of the first one; then the trials a later run replaced. ``link(sweep,
    trial_id)``, when given, makes each trial id a link (the dashboard's trial pages)."""
    def trial(trial_id: str) -> Markup:
        if link is None:
            return html("<code>{}</code>", trial_id)
        return html("<a href=\"{}\"><code>{}</code></a>", link(data.sweep.name, trial_id), trial_id)

    def ids(trial_ids: tuple[str, ...]) -> Markup:
        more = len(trial_ids) - MAX_ERROR_IDS
        return join([*(trial(t) for t in trial_ids[:MAX_ERROR_IDS]), *([f"… and {more} more"] if more > 0 else [])],
                    ", ")

    parts = [html("<h2 id=\"errors\">Errors</h2><p class=\"sub\" id=\"errors-note\">{}</p>", errors_note(data))]
    groups = data.errors
    if groups:
        headers, _ = error_table(data)
        rows = join(html("<tr><td class=num>{n}</td><td><code>{error}</code>{text}</td><td>{ids}</td></tr>",
                         n=group.count, error=group.error, ids=ids(group.trials),
                         text=html("<details><summary>error text of trial {}</summary><pre>{}</pre></details>",
                                   group.trials[0], mask_secrets(group.text)[-MAX_ERROR_CHARS:])
                         if group.text else "")
                    for group in groups[:MAX_ERRORS])
        parts.append(html("<div class=\"scroll\"><table id=\"errors-table\"><thead><tr>{head}</tr></thead>"
                          "<tbody>{rows}</tbody></table></div>",
                          head=join(html("<th>{}</th>", h) for h in headers), rows=rows))
        if len(groups) > MAX_ERRORS:
            parts.append(html("<p>… and {} more distinct errors (the JSON report lists every one).</p>",
                              len(groups) - MAX_ERRORS))
    replaced = replaced_rows(data)
    if replaced:
        items = join(html("<li>{old} by {new}: {error}</li>", old=trial(old), new=trial(new), error=error)
                     for old, new, error in replaced)
        parts.append(html("<p id=\"replaced\">Replaced by a later run (not counted among the trials):</p><ul>{}</ul>",
                          items))
    return str(join(parts))


def sample_note(data: ReportData) -> str:
    """A sampled sweep's note on what its plots and importance leave out ("" for a sweep drawn whole)."""
    note = data.sample.note() if data.sample is not None else ""
    return f'<p class="sub" id="sampled">{esc(note)}</p>' if note else ""


def plot_notes_html(data: ReportData, plots: dict[str, str]) -> str:
    """A sentence for each kind of plot that cannot be drawn, and why (``No results to plot yet.`` when nothing
    was drawn for another reason)."""
    notes = plot_notes(data)
    if not notes and not plots:
        notes = ["No results to plot yet."]
    return "".join(f'<p class="plot-note">{esc(note)}</p>' for note in notes)


def _plots_section(data: ReportData, plots: dict[str, str]) -> str:
    parts = ["<h2>Plots</h2>", sample_note(data), plot_notes_html(data, plots)]
    for index, (key, svg) in enumerate(plots.items(), start=1):
        parts.append(f'<figure id="plot-{esc(key)}"><h3>{esc(PLOTS[key])}</h3>{inline_svg(svg, f"p{index}")}'
                     f"<figcaption>{esc(_CAPTIONS[key])}</figcaption></figure>")
    return "".join(parts)


def importance_section(data: ReportData) -> str:
    """Importance per rung as a table (the same numbers as the JSON and Markdown reports)."""
    headers, rows = importance_table(data)
    if not rows:
        return f"<h2>Importance</h2><p>{esc(importance_note(data))}</p>"
    return (f'<h2>Importance</h2><p class="sub">{esc(IMPORTANCE_NOTE)}</p>'
            f'<div id="importance">{_plain_table(headers, rows)}</div>')


def _lineage_section(data: ReportData) -> str:
    if not data.lineage:
        return ""
    headers, rows = lineage_table(data)
    return (f"<h2>Lineage (PBT)</h2><p class=\"sub\">{esc(LINEAGE_NOTE)}</p>"
            f'<div id="lineage">{_plain_table(headers, rows)}</div>')


def _plain_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def render_html(data: ReportData, plots: dict[str, str]) -> str:
    """The whole report as one HTML document."""
    sweep = data.sweep
    headers, rows = top_table(data)
    all_headers, all_rows = all_trials_table(data)
    spec_yaml = mask_secrets(sweep.spec_yaml or "(no spec recorded)")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>hpo report: {esc(sweep.name)}</title><style>{REPORT_CSS}</style></head><body>"
        f'<h1>Sweep {esc(sweep.name)} <span class="badge {esc(sweep.shown_status)}">{esc(sweep.shown_status)}</span>'
        "</h1>"
        f'<p class="sub">{esc(sweep.metric)} ({esc(sweep.mode)}) · {len(data.trials)} trials · '
        f"generated {esc(data.generated.isoformat(timespec='seconds'))}</p>"
        f"<h2>The sweep</h2>{kv_table(summary_rows(data))}"
        f"{_best_section(data)}"
        f"{errors_section(data)}"
        f"{confirmation_section(data)}"
        f"<h2>Top trials</h2>{_table(headers, rows, best_first=data.best is not None)}"
        f"{_plots_section(data, plots)}"
        f"{importance_section(data)}"
        f"{_lineage_section(data)}"
        f"<h2>All trials</h2><details><summary>{len(all_rows)} trials, best first</summary>"
        f"{_table(all_headers, all_rows, best_first=data.best is not None)}</details>"
        f"<h2>Spec</h2><details><summary>resolved spec (YAML)</summary><pre><code>{esc(spec_yaml)}</code></pre>"
        "</details>"
        f"<footer>hpo report · store {esc(data.store_url)}</footer>"
        "</body></html>\n"
    )
