"""The report's plots as SVG text, drawn on the shared figure plumbing (``report.figure``).

Readable at 1,000 trials: past ``MAX_LINES`` trials the learning curves become quantile bands
plus the top trials, with every early stop still marked at its rung.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hpo.results.analysis.plan import ParamAxis
from hpo.results.report.data import ReportData
from hpo.results.report.figure import (
    BEST_COLOR,
    STATUS_COLORS,
    categories,
    clear_marks,
    dense,
    figure,
    mark,
    note_sample,
    plain_text,
    short_label,
    style,
    svg_text,
)
from hpo.results.report.parallel import parallel_coordinates
from hpo.results.report.ticks import log_axis

__all__ = [
    "PLOTS",
    "all_plots",
    "best_so_far",
    "best_steps",
    "contour_axes",
    "contour_plot",
    "learning_curves",
    "params_plot",
    "pareto_plot",
    "rung_survivors",
    "timeline",
]

MAX_LINES = 150  # trials drawn one line each; beyond, aggregate
TOP_LINES = 10  # best trials still drawn as lines when aggregating

PLOTS = {
    "pareto": "Pareto front",
    "curves": "Learning curves",
    "params": "Metric against each hyperparameter",
    "best_so_far": "Best so far against wall time",
    "rungs": "ASHA survivors per rung",
    "parallel": "Parallel coordinates",
    "timeline": "Timeline: trials over wall-clock time",
    "contour": "Metric over two hyperparameters",
}


def _robust_ylim(ax: Any, values: np.ndarray) -> None:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return
    low, high = np.percentile(values, [1, 99])
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
    ax.set_ylim(low - pad, high + pad)


def _status_of(data: ReportData) -> dict[str, str]:
    return {t.trial_id: t.status for t in data.trials}


def learning_curves(data: ReportData) -> str | None:
    """Metric against iteration for every trial; early stops faint with an ``x`` at their rung."""
    frame = data.results.dropna(subset=["metric"])
    if frame.empty:
        return None
    status = _status_of(data)
    best = data.best.trial_id if data.best else None
    fig = figure(8, 4.2)
    ax = fig.add_subplot()
    order = list(dict.fromkeys(frame["trial_id"]))  # first reported first
    many = len(order) > MAX_LINES
    if many:
        even = frame  # the bands over an even sample: the best trials drawn beside it would lean them
        if data.sample is not None and data.sampled:
            even = frame[frame["trial_id"].isin({t.trial_id for t in data.sample.picked})]
        stats = even.groupby("iteration")["metric"].quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
        ax.fill_between(stats.index, stats[0.1], stats[0.9], color=STATUS_COLORS["completed"], alpha=0.15,
                        lw=0, label="10–90% of trials")
        ax.fill_between(stats.index, stats[0.25], stats[0.75], color=STATUS_COLORS["completed"], alpha=0.25,
                        lw=0, label="25–75%")
        ax.plot(stats.index, stats[0.5], color=STATUS_COLORS["completed"], lw=1.2, label="median")
        present = set(order)
        drawn = [t.trial_id for t in data.trials[:TOP_LINES] if t.trial_id in present]
    else:
        drawn = order
    wanted = set(drawn) | {best}
    groups = {tid: g.sort_values("iteration") for tid, g in frame[frame["trial_id"].isin(wanted)].groupby(
        "trial_id", sort=False)}
    for tid in drawn:
        g = groups[tid]
        kind = status.get(tid, "running")
        if tid == best:
            continue
        faint = kind == "stopped_early"
        ax.plot(g["iteration"], g["metric"], color=STATUS_COLORS.get(kind, "#2ca02c"), lw=0.8,
                alpha=0.3 if faint else 0.75, ls="--" if kind == "error" else "-")
        mark(ax, g["iteration"], g["metric"], [tid] * len(g))
    # Each early stop's last result (its highest iteration), in the order the trials first reported.
    stops = frame[frame["trial_id"].map(status).eq("stopped_early")]
    last = stops.loc[stops.groupby("trial_id", sort=False)["iteration"].idxmax()]
    ends = list(zip(last["iteration"], last["metric"], last["trial_id"], strict=True))
    if ends:
        xs, ys, end_ids = zip(*ends, strict=True)
        if many:  # their lines are not drawn: the x at the rung still says which trial
            mark(ax, xs, ys, end_ids)
        ax.scatter(xs, ys, marker="x", s=14, lw=0.8, color=STATUS_COLORS["stopped_early"], alpha=0.6,
                   rasterized=dense(len(xs)),
                   label=f"stopped early ({len(ends)}), x = rung where stopped", zorder=3)
    if best in groups:
        g = groups[best]
        ax.plot(g["iteration"], g["metric"], color=BEST_COLOR, lw=2.2, label=f"best: {short_label(best)}", zorder=4)
        mark(ax, g["iteration"], g["metric"], [best] * len(g))
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color=STATUS_COLORS["completed"], lw=1, label="completed"),
                Line2D([], [], color=STATUS_COLORS["error"], lw=1, ls="--", label="error")]
    ax.legend(handles=handles, fontsize=7, loc="best", frameon=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training iteration")
    ax.set_ylabel(plain_text(f"{data.sweep.metric} ({data.sweep.mode})"))
    title = "every trial" if not many else f"{len(order)} trials: quantile bands + top {len(drawn)}"
    if data.sample is not None and data.sample.sampled:
        title = f"quantile bands over the sample of {len(data.sample.picked):,} + top {len(drawn)}"
    ax.set_title(title, fontsize=9)
    note_sample(fig, data)
    _robust_ylim(ax, frame["metric"].to_numpy(dtype=float))
    return svg_text(fig)


def _param_values(data: ReportData, axis: ParamAxis) -> tuple[list[Any], list[float], list[str], list[str]]:
    xs, ys, kinds, ids = [], [], [], []
    for trial in data.drawn:
        value = data.flat_configs[trial.trial_id].get(axis.key)
        if value is None or trial.last_metric is None:
            continue
        xs.append(value)
        ys.append(trial.last_metric)
        kinds.append(trial.status)
        ids.append(trial.trial_id)
    return xs, ys, kinds, ids


def params_plot(data: ReportData) -> str | None:
    """The final metric of each trial against each hyperparameter (log axes for log params)."""
    values = {a.key: _param_values(data, a) for a in data.params}
    axes = [a for a in data.params if values[a.key][0]]
    if not axes:
        return None
    cols = min(3, len(axes))
    rows = math.ceil(len(axes) / cols)
    fig = figure(3.2 * cols, 2.6 * rows)
    grid = fig.subplots(rows, cols, squeeze=False)
    rng = np.random.default_rng(0)
    best = data.best
    for ax, axis in zip(grid.flat, axes, strict=False):
        xs, ys, kinds, ids = values[axis.key]
        numeric = not axis.categorical and all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
        if numeric:
            positions = np.asarray(xs, dtype=float)
            if axis.log and np.all(positions > 0):
                log_axis(ax, list(positions), base2=axis.base2)
        else:
            labels = categories(xs)
            index = {label: i for i, label in enumerate(labels)}
            positions = np.array([index[str(x)] for x in xs], dtype=float) + rng.uniform(-0.2, 0.2, len(xs))
            ax.set_xticks(range(len(labels)), [short_label(v) for v in labels], rotation=20 if len(labels) > 3 else 0)
        colors = [STATUS_COLORS.get(k, "#2ca02c") for k in kinds]
        alphas = [0.3 if k == "stopped_early" else 0.8 for k in kinds]
        ax.scatter(positions, ys, c=colors, s=9, alpha=alphas, lw=0, rasterized=dense(len(ys)))
        mark(ax, positions, ys, ids)
        if best is not None:
            value = data.flat_configs[best.trial_id].get(axis.key)
            if value is not None and best.last_metric is not None:
                bx = float(value) if numeric else float(categories(xs).index(str(value)))
                ax.scatter([bx], [best.last_metric], marker="*", s=80, color=BEST_COLOR, zorder=3)
        ax.set_xlabel(short_label(axis.key) + (" (log)" if numeric and axis.log else ""))
        ax.set_ylabel(plain_text(data.sweep.metric))
        _robust_ylim(ax, np.asarray(ys, dtype=float))
    for ax in list(grid.flat)[len(axes):]:
        ax.set_visible(False)
    note_sample(fig, data)
    return svg_text(fig)


def best_steps(data: ReportData) -> tuple[np.ndarray, np.ndarray]:
    """Best-so-far's staircase: epoch seconds where the best changed (then the last result's), and the best
    from there on; from every result, or for a sampled sweep from ``data.progress`` (as exact)."""
    frame = data.results.dropna(subset=["metric"]).sort_values("recorded")
    progress = data.progress
    steps = frame if progress is None else progress.frame.dropna(subset=["metric"]).sort_values("recorded")
    if steps.empty:
        return np.zeros(0), np.zeros(0)
    seconds = steps["recorded"].to_numpy(dtype=float)
    values = steps["metric"].to_numpy(dtype=float)
    running = np.minimum.accumulate(values) if data.sweep.mode == "min" else np.maximum.accumulate(values)
    keep = np.r_[True, np.diff(running) != 0]  # only the steps, not 20,000 flat points
    if progress is None:
        keep[-1] = True  # on to the last result
        return seconds[keep], running[keep]
    seconds, running = seconds[keep], running[keep]
    if progress.last is not None and progress.last > seconds[-1]:  # on to the sweep's last result
        seconds, running = np.r_[seconds, progress.last], np.r_[running, running[-1]]
    return seconds, running


def best_so_far(data: ReportData) -> str | None:
    """Best metric so far against wall time since the sweep started."""
    frame = data.results.dropna(subset=["metric"]).sort_values("recorded")
    steps, running = best_steps(data)
    if frame.empty or not len(steps):
        return None
    start = data.sweep.started.timestamp() if data.sweep.started else float(frame["recorded"].min())
    seconds = steps - start
    values = frame["metric"].to_numpy(dtype=float)
    latest = max(float(seconds.max()), float(frame["recorded"].max()) - start)
    scale, unit = (60.0, "min") if latest > 300 else (1.0, "s")
    fig = figure(8, 3.2)
    ax = fig.add_subplot()
    last = frame.groupby("trial_id").tail(1)  # one faint dot per trial (its final result)
    ax.scatter((last["recorded"] - start) / scale, last["metric"], s=6, color="#7f7f7f", alpha=0.35, lw=0,
               rasterized=dense(len(last)),
               label="a trial's last result")
    mark(ax, (last["recorded"] - start) / scale, last["metric"], list(last["trial_id"]))
    ax.step(seconds / scale, running, where="post", color=BEST_COLOR, lw=1.8, label="best so far")
    ax.set_xlabel(f"wall time since the sweep started ({unit})")
    ax.set_ylabel(plain_text(f"{data.sweep.metric} ({data.sweep.mode})"))
    ax.legend(fontsize=7, frameon=False)
    note_sample(fig, data)
    _robust_ylim(ax, values)
    return svg_text(fig)


def rung_survivors(data: ReportData) -> str | None:
    """Trials that reached each ASHA rung (and max_t)."""
    milestones = data.rungs
    if not milestones or not data.trials:
        return None
    reached = np.array([t.iterations for t in data.trials])
    counts = [int((reached >= m).sum()) for m in milestones]
    if not any(counts):  # no trial reached the first rung (every one errored before it): bars of zero say nothing
        return None
    fig = figure(8, 2.8)
    ax = fig.add_subplot()
    labels = [f"≥{m}" for m in milestones]
    bars = ax.bar(labels, counts, color=STATUS_COLORS["completed"], alpha=0.8)
    ax.bar_label(bars, fontsize=7)
    ax.set_xlabel("rung (training iterations reached; the last is max_t)")
    ax.set_ylabel("trials")
    return svg_text(fig)


def pareto_plot(data: ReportData) -> str | None:
    """Several objectives: every trial by its last values of the first two, the Pareto front joined."""
    from hpo.results.analysis.pareto import objective_values, objectives_of, pareto_front

    objectives = objectives_of(data.sweep, data.plan)
    if len(objectives) < 2:
        return None
    pairs = objectives[:2]  # a front over more objectives still shows its members here, highlighted
    front = {t.trial_id for t in pareto_front(data.trials, objectives)}
    points = [(t, objective_values(t, pairs)) for t in data.drawn]  # a sampled sweep's sample holds its front whole
    points = [(t, v) for t, v in points if v is not None]
    if not points:
        return None
    fig = figure(6.5, 4.2)
    ax = fig.add_subplot()
    xs = np.array([v[0] for _, v in points])
    ys = np.array([v[1] for _, v in points])
    on = np.array([t.trial_id in front for t, _ in points])
    ax.scatter(xs[~on], ys[~on], s=14, color="#7f7f7f", alpha=0.45, lw=0, label="dominated trial",
               rasterized=dense(int((~on).sum())))
    ax.scatter(xs[on], ys[on], s=30, color=BEST_COLOR, zorder=3, label="Pareto set")
    mark(ax, xs, ys, [t.trial_id for t, _ in points])
    if len(objectives) == 2 and on.sum() > 1:
        order = np.argsort(xs[on])
        ax.step(xs[on][order], ys[on][order], where="post" if pairs[0][1] == pairs[1][1] else "pre",
                color=BEST_COLOR, lw=1.2, alpha=0.7)
    ax.set_xlabel(plain_text(f"{pairs[0][0]} ({pairs[0][1]})"))
    ax.set_ylabel(plain_text(f"{pairs[1][0]} ({pairs[1][1]})"))
    ax.legend(fontsize=7, frameon=False)
    note_sample(fig, data)
    return svg_text(fig)


def timeline(data: ReportData) -> str | None:
    """One row per trial from its start to its end (to now while it runs), coloured by status, an ``x`` where
    the scheduler stopped it; above, how many ran at once against the slots the plan had."""
    every = sorted((t for t in data.trials if t.started is not None), key=lambda t: t.started)  # type: ignore[arg-type,return-value]
    if not every:
        return None
    origin = data.sweep.started.timestamp() if data.sweep.started else every[0].started.timestamp()  # type: ignore[union-attr]
    now = max((t.ended or t.started).timestamp() for t in every)  # type: ignore[union-attr]
    all_spans = [(t.started.timestamp() - origin, ((t.ended.timestamp() if t.ended else now) - origin))  # type: ignore[union-attr]
                 for t in every]
    drawn = {t.trial_id for t in data.drawn}
    rows = [t for t in every if t.trial_id in drawn]  # a sampled sweep's rows: its drawn trials only
    spans = [span for t, span in zip(every, all_spans, strict=True) if t.trial_id in drawn]
    longest = max(end for _, end in all_spans) or 1.0
    scale, unit = (60.0, "min") if longest > 300 else (1.0, "s")
    fig = figure(8, 1.6 + min(6.0, 0.09 * len(rows)))
    top, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 3])
    # Trials running at once (every trial): +1 at each start, -1 at each end (an end before a start at once).
    events = sorted([(s0, 1) for s0, _ in all_spans] + [(s1, -1) for _, s1 in all_spans])
    edges = [x for x, _ in events]
    running = np.cumsum([d for _, d in events])
    top.step(np.asarray(edges) / scale, running, where="post", color=STATUS_COLORS["completed"], lw=1.2)
    slots = (data.plan or {}).get("concurrency")
    if slots:
        top.axhline(slots, color=BEST_COLOR, ls="--", lw=1, label=f"slots ({slots})")
        top.legend(fontsize=7, frameon=False, loc="lower right")
    top.set_ylabel("running", fontsize=8)
    colors = [STATUS_COLORS.get(t.status, "#2ca02c") for t in rows]
    if len(rows) <= 60:
        ax.barh(range(len(rows)), [(s1 - s0) / scale for s0, s1 in spans], left=[s0 / scale for s0, _ in spans],
                height=0.8, color=colors, lw=0, alpha=0.8)
    else:  # one line per trial, as thick as its row: one collection, not thousands of patches
        row_pt = fig.get_figheight() * 72 * 0.7 / len(rows)
        ax.hlines(range(len(rows)), [s0 / scale for s0, _ in spans], [s1 / scale for _, s1 in spans], colors=colors,
                  linewidth=max(0.3, row_pt), alpha=0.8, rasterized=dense(len(rows)))
    stopped = [(s1 / scale, row) for row, (t, (_, s1)) in enumerate(zip(rows, spans, strict=True))
               if t.status == "stopped_early"]
    if stopped:
        xs, ys = zip(*stopped, strict=True)
        ax.scatter(xs, ys, marker="x", s=12, lw=0.8, color="#333333", label="stopped at a rung", zorder=3,
                   rasterized=dense(len(xs)))
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    ids = [t.trial_id for t in rows]
    for fraction in (0.0, 0.5, 1.0):
        mark(ax, [(s0 + fraction * (s1 - s0)) / scale for s0, s1 in spans], range(len(rows)), ids)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks([])
    ax.set_ylabel(f"{len(rows)} trials, by start" if not data.sampled else
                  f"{len(rows):,} of {len(every):,} trials, by start")
    ax.set_xlabel(f"wall time since the sweep started ({unit})")
    note_sample(fig, data)
    return svg_text(fig)


def contour_axes(data: ReportData) -> list[ParamAxis]:
    """The numeric params a contour can use, the most important first (importance at the rung with the most
    trials, as the report computes it)."""
    numeric = [a for a in data.params if not a.categorical]
    found = data.importance
    if found:
        chosen = max(found, key=lambda imp: (imp.trials, imp.rung))
        numeric.sort(key=lambda a: -chosen.values.get(a.key, 0.0))
    return numeric


def contour_plot(data: ReportData, keys: tuple[str, str] | None = None) -> str | None:
    """The final metric over two numeric params (default the two most important): a filled contour of the
    trials' values (Delaunay-interpolated between them), the trials on top."""
    axes = {a.key: a for a in contour_axes(data)}
    pair = [axes[k] for k in keys if k in axes] if keys else list(axes.values())[:2]
    if len(pair) < 2:
        return None
    points = []
    for trial in data.drawn:
        config = data.flat_configs[trial.trial_id]
        values = [config.get(a.key) for a in pair]
        if trial.last_metric is None or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                and (v > 0 or not a.log) for v, a in zip(values, pair, strict=True)):
            continue
        points.append((*(math.log10(v) if a.log else float(v) for v, a in zip(values, pair, strict=True)),
                       float(trial.last_metric), trial.trial_id))
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    if len(points) < 4 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return None
    zs = np.array([p[2] for p in points])
    fig = figure(6.5, 4.6)
    ax = fig.add_subplot()
    try:
        filled = ax.tricontourf(xs, ys, zs, levels=12, cmap="viridis" if data.sweep.mode == "max" else "viridis_r")
        filled.set_rasterized(dense(len(xs)))
        fig.colorbar(filled, ax=ax, label=plain_text(f"{data.sweep.metric} ({data.sweep.mode}; yellow is better)"))
    except (ValueError, RuntimeError):  # collinear points: no triangulation, the points alone
        pass
    ax.scatter(xs, ys, s=10, color="white", edgecolors="#333333", linewidths=0.5, zorder=3, rasterized=dense(len(xs)))
    mark(ax, xs, ys, [p[3] for p in points])
    best = data.best
    if best is not None and best.trial_id in {p[3] for p in points}:
        bx, by = next((p[0], p[1]) for p in points if p[3] == best.trial_id)
        ax.scatter([bx], [by], marker="*", s=120, color=BEST_COLOR, zorder=4,
                   label=f"best: {short_label(best.trial_id)}")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_xlabel(short_label(pair[0].key) + (" (log10)" if pair[0].log else ""))
    ax.set_ylabel(short_label(pair[1].key) + (" (log10)" if pair[1].log else ""))
    note_sample(fig, data)
    return svg_text(fig)


def all_plots(data: ReportData) -> dict[str, str]:
    """Every plot that has data to show, keyed as in ``PLOTS``."""
    makers = {"pareto": pareto_plot, "curves": learning_curves, "params": params_plot, "parallel": parallel_coordinates,
              "contour": contour_plot, "best_so_far": best_so_far, "timeline": timeline, "rungs": rung_survivors}
    out: dict[str, str] = {}
    with style():
        for key, make in makers.items():
            clear_marks()  # a maker that marked, then drew nothing
            svg = make(data)
            if svg:
                out[key] = svg
    return out
