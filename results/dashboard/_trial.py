"""One trial: ``/sweeps/NAME/trials/ID`` and its JSON. Why it stopped, where it ran, what it cost, how to rerun it."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from hpo.results.analysis.cost import trial_cost
from hpo.results.dashboard._parts import guarded, malformed_note, resources_text, status_class, sweep_url
from hpo.results.formatting import format_duration, format_hours
from hpo.results.report.data import ReportData, yaml_text
from hpo.results.report.markup import Markup, count, html, join, kv_table, number
from hpo.results.report.sections import STATUS_LABELS, fmt, trainable_text
from hpo.results.store.records import TrialRecord, finite, iso
from hpo.results.store.store import Store

__all__ = ["find_trial", "stop_reason", "trial_main", "trial_payload", "trial_plot", "trial_url"]

MAX_METRIC_PLOTS = 12  # small multiples on a trial page; the table has every metric
_FAILURE = re.compile(r"^Failure # \d+", re.MULTILINE)


def trial_url(sweep: str, trial_id: str) -> str:
    """``/sweeps/<sweep>/trials/<id>``, both percent-encoded."""
    return f"{sweep_url(sweep)}/trials/{quote(trial_id, safe='')}"


def find_trial(data: ReportData, trial_id: str) -> TrialRecord | None:
    """The sweep's trial of that id (one replaced by a later run too), or None."""
    return next((t for t in (*data.trials, *data.replaced) if t.trial_id == trial_id), None)


def stop_reason(data: ReportData, trial: TrialRecord) -> str:
    """Why the trial is where it is, in a sentence."""
    if trial.status == "stopped_early":
        marks = data.rungs
        rung = f" (ASHA rung {marks.index(trial.iterations) + 1} of {len(marks) - 1})" if trial.iterations in \
            marks[:-1] else ""
        return f"stopped early by the scheduler at iteration {trial.iterations}{rung}"
    if trial.status == "completed":
        cap = (data.plan or {}).get("trial_cap")
        return f"completed {trial.iterations} iterations" + (f" of {cap}" if cap else "")
    if trial.replaced_by is not None:
        return f"errored at iteration {trial.iterations}; replaced by trial {trial.replaced_by}, not counted"
    if trial.status == "error":
        return f"errored at iteration {trial.iterations}"
    return f"running: {trial.iterations} iterations so far"


def _failures(trial: TrialRecord) -> int:
    return len(_FAILURE.findall(trial.error or "")) or (1 if trial.error else 0)


def _retries(trial: TrialRecord) -> int:
    failures = _failures(trial)
    return max(0, failures - 1) if trial.status == "error" else failures


def _lineage(data: ReportData, trial_id: str) -> dict[str, list[dict[str, Any]]]:
    parents = [e.to_dict() for e in data.lineage if e.trial_id == trial_id]
    children = [e.to_dict() for e in data.lineage if e.from_trial == trial_id]
    return {"parents": parents, "children": children}


def _history(store: Store, data: ReportData, trial_id: str) -> list[dict[str, Any]]:
    frame = store.history(trial_id, sweep=data.sweep.name)
    rows = []
    for record in frame.to_dict(orient="records"):
        row = {}
        for key, value in record.items():
            if hasattr(value, "isoformat"):
                value = iso(value)
            elif isinstance(value, float):
                value = finite(value)  # NaN and infinities as None
            row[str(key)] = value
        rows.append(row)
    return rows


def trial_payload(store: Store, data: ReportData, trial: TrialRecord) -> dict[str, Any]:
    """Everything the trial page shows, for ``/api/sweeps/NAME/trials/ID``."""
    cost = trial_cost(trial, data.plan, until=data.sweep.ended_at)
    return {
        "sweep": data.sweep.name,
        "metric": data.sweep.metric,
        "mode": data.sweep.mode,
        "trial": trial.to_dict(),
        "rank": data.trials.index(trial) + 1 if trial.replaced_by is None else None,  # None: replaced, not ranked
        "stop_reason": stop_reason(data, trial),
        "retries": _retries(trial),
        "oom_halvings": count(trial.last_result.get("oom_halvings")),  # a number, or None (whatever was reported)
        "resources": (data.plan or {}).get("resources"),
        "trainable": trainable_text(data.spec.get("trainable")),  # a command's as `command: python train.py ...`
        "cost": cost.to_dict(),
        "lineage": _lineage(data, trial.trial_id),
        "reproduce": data.reproduce_command(trial),
        "history": _history(store, data, trial.trial_id),
    }


def trial_plot(payload: dict[str, Any]) -> str | None:
    """Every numeric metric the trial reported, one small plot each, against the iteration (SVG)."""
    from hpo.results.report.figure import figure, plain_text, style, svg_text

    history = payload["history"]
    skip = {"iteration", "time_total_s", "recorded", "training_iteration", "time_this_iter_s", "timestamp", "epoch",
            "time_since_restore", "iterations_since_restore", "done"}
    keys = [k for k in dict.fromkeys(k for row in history for k in row) if k not in skip and all(
        isinstance(row.get(k), int | float) and not isinstance(row.get(k), bool) for row in history if k in row)]
    metric = payload["metric"]
    # Constants (batch size, a fixed lr...) say nothing over iterations: the table still has them.
    keys = [k for k in keys if k == metric or len({row.get(k) for row in history if k in row}) > 1]
    keys = sorted(keys, key=lambda k: (k != metric, k))[:MAX_METRIC_PLOTS]
    if not history or not keys:
        return None
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    with style():
        fig = figure(3.3 * cols, 2.2 * rows)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, key in zip(axes.flat, keys, strict=False):
            points = [(row["iteration"], row[key]) for row in history if row.get(key) is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    color="#ff7f0e" if key == metric else "#1f77b4")
            ax.set_title(plain_text(key), fontsize=9)
            ax.set_xlabel("iteration")
            ax.xaxis.get_major_locator().set_params(integer=True)
        for ax in list(axes.flat)[len(keys):]:
            ax.set_visible(False)
        return svg_text(fig)


def _link(sweep: str, trial_id: str) -> Markup:
    return html("<a href=\"{}\"><code>{}</code></a>", trial_url(sweep, trial_id), trial_id)


def _lineage_lines(sweep: str, lineage: dict[str, list[dict[str, Any]]]) -> Markup:
    took = [html("took {donor}'s checkpoint (its step {step}) at iteration {at}", donor=_link(sweep, e["from_trial"]),
                 step=fmt(e["from_step"]), at=fmt(e["iteration"])) for e in lineage["parents"]]
    gave = [html("{child} took its checkpoint at iteration {at}", child=_link(sweep, e["trial_id"]),
                 at=fmt(e["iteration"])) for e in lineage["children"]]
    return join(took + gave, "<br>")


def _facts(payload: dict[str, Any]) -> list[tuple[str, Markup | str]]:
    trial, metric = payload["trial"], payload["metric"]
    node = trial.get("node") or {}
    oom = payload["oom_halvings"]  # a count, or None (trial_payload checked it)
    retries = html("{n}{oom}", n=fmt(count(payload["retries"])),
                   oom=f" · OOM halvings {oom}" if oom is not None else "")
    cost = payload["cost"]
    return [
        ("status", html("<span class=\"badge {cls}\">{label}</span> {reason}", cls=status_class(trial["status"]),
                        label=STATUS_LABELS.get(trial["status"], str(trial["status"])), reason=payload["stop_reason"])),
        (f"{metric} (last)", fmt(number(trial["last_metric"]))),
        (f"{metric} (best)", f"{fmt(number(trial['best_metric']))} at iteration {fmt(count(trial['best_iteration']))}"),
        ("rank in the sweep", f"{fmt(count(payload['rank']))} of the sweep's trials (last value, {payload['mode']})"
         if payload["rank"] is not None else "not ranked: replaced by a later run"),
        ("retries", retries),
        ("node", " ".join(str(v) for v in (node.get("ip"), node.get("id")) if v) or "—"),
        ("trainable", html("<code>{}</code>", fmt(payload["trainable"]))),
        ("resources", resources_text(payload["resources"])),
        ("started · ended", f"{trial['started'] or '—'} · {trial['ended'] or '—'}"),
        ("duration", format_duration(number(trial["duration_s"]))),
        ("cost", f"{format_hours(number(cost['cpu_hours']))} CPU-h · {format_hours(number(cost['gpu_hours']))} GPU-h"),
        ("checkpoint", html("<code id=\"checkpoint\">{}</code>", trial["checkpoint_path"] or "—")),
    ]


def _history_table(history: list[dict[str, Any]]) -> Markup:
    columns = list(dict.fromkeys(k for row in history for k in row if k != "recorded"))
    head = join(html("<th>{}</th>", c) for c in columns)
    body = join(html("<tr>{}</tr>", join(html("<td>{}</td>", fmt(row.get(c))) for c in columns)) for row in history)
    return html("<details id=\"history\"><summary>{n} results as a table</summary><div class=\"scroll\"><table>"
                "<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details>",
                n=len(history), head=head, body=body)


def trial_main(payload: dict[str, Any], svg: str | None) -> str:
    """The trial page's body."""
    from hpo.results.report.figure import inline_svg

    trial, sweep = payload["trial"], payload["sweep"]
    lineage = payload["lineage"]
    facts = guarded("facts", lambda: kv_table(_facts(payload) + (
        [("PBT lineage", _lineage_lines(sweep, lineage))] if lineage["parents"] or lineage["children"] else [])))
    error = html("<h2>Error</h2><pre id=\"error\">{}</pre>", trial["error"]) if trial.get("error") else ""
    plot = Markup(inline_svg(svg, "t1")) if svg else Markup("<p>No result reported yet.</p>")
    return str(html(
        "<p><a href=\"{sweep_href}\">← sweep {sweep}</a></p><h1>Trial <code id=\"trial-id\">{trial_id}</code></h1>"
        "{malformed}{facts}{error}<h2>Config</h2>{config}"
        "<h2>Metrics over iterations</h2><figure id=\"plot-trial\">{plot}</figure>{history}"
        "<h2>Reproduce</h2><p>Rerun this config once, for the full budget:</p>"
        "<pre><code id=\"reproduce\">{reproduce}</code></pre>",
        sweep_href=sweep_url(sweep), sweep=sweep, trial_id=trial["trial_id"], facts=facts,
        malformed=malformed_note({trial["trial_id"]: trial["malformed"]} if trial.get("malformed") else {}),
        error=error, plot=plot,
        config=guarded("config", lambda: html("<pre><code id=\"config\">{}</code></pre>", yaml_text(trial["config"]))),
        history=guarded("results table", lambda: _history_table(payload["history"])),
        reproduce=payload["reproduce"] or ""))
