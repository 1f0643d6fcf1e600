"""Parallel coordinates: one line per trial across every searched param and the metric, with log axes,
categories as evenly spaced levels, and the top-k trials highlighted."""

from __future__ import annotations

import math

import numpy as np

from hpo.results.analysis.plan import ParamAxis
from hpo.results.report.data import ReportData
from hpo.results.report.figure import (
    BEST_COLOR,
    categories,
    figure,
    mark,
    mark_axes,
    note_sample,
    plain_text,
    short_label,
    svg_text,
)
from hpo.results.report.ticks import number_label

__all__ = ["TOP_K", "parallel_coordinates"]

TOP_K = 10  # trials highlighted
MAX_AXES = 12  # params drawn (the plan's order); past it the plot becomes unreadable


def _column(data: ReportData, axis: ParamAxis, ids: list[str]) -> tuple[np.ndarray, list[tuple[float, str]]] | None:
    """Values scaled to [0, 1] (NaN where a trial lacks the param) and (position, label) ticks."""
    raw = [data.flat_configs[tid].get(axis.key) for tid in ids]
    present = [v for v in raw if v is not None]
    if not present:
        return None
    numeric = not axis.categorical and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if not numeric:
        labels = categories(present)
        index = {label: i for i, label in enumerate(labels)}
        span = max(1, len(labels) - 1)
        col = np.array([np.nan if v is None else index[str(v)] / span for v in raw], dtype=float)
        if len(labels) == 1:
            col = np.where(np.isnan(col), np.nan, 0.5)
        return col, [(i / span if len(labels) > 1 else 0.5, short_label(lab)) for i, lab in enumerate(labels)][:12]
    log = axis.log and min(present) > 0
    forward = (lambda x: math.log(x)) if log else float
    low, high = forward(min(present)), forward(max(present))
    span = (high - low) or 1.0
    col = np.array([np.nan if v is None else (forward(v) - low) / span for v in raw], dtype=float)
    ticks = [(0.0, number_label(min(present))), (1.0, number_label(max(present)))]
    mid = math.exp((low + high) / 2) if log else (low + high) / 2
    ticks.insert(1, (0.5, number_label(float(f"{mid:.2g}")) if log else number_label(mid)))
    return col, ticks


def parallel_coordinates(data: ReportData, *, top_k: int = TOP_K) -> str | None:
    """SVG of the trials that reported the metric, best ``top_k`` in orange on top."""
    from matplotlib.collections import LineCollection

    scored = [t for t in data.drawn if t.last_metric is not None]  # best first already
    axes = data.params[:MAX_AXES]
    if len(scored) < 2 or not axes:
        return None
    ids = [t.trial_id for t in scored]
    columns, names, ticks = [], [], []
    for axis in axes:
        made = _column(data, axis, ids)
        if made is not None:
            columns.append(made[0])
            ticks.append(made[1])
            names.append(short_label(axis.key) + (" (log)" if axis.log and not axis.categorical else ""))
    metric = np.array([t.last_metric for t in scored], dtype=float)
    lo, hi = np.nanmin(metric), np.nanmax(metric)
    columns.append((metric - lo) / ((hi - lo) or 1.0))
    names.append(plain_text(f"{data.sweep.metric} ({data.sweep.mode})"))
    ticks.append([(0.0, f"{lo:.4g}"), (1.0, f"{hi:.4g}")])
    matrix = np.vstack(columns).T  # trials x axes
    xs = np.arange(matrix.shape[1], dtype=float)
    fig = figure(max(6.0, 1.1 * len(xs) + 1.5), 3.8)
    ax = fig.add_subplot()
    rest = [np.column_stack([xs, row]) for row in matrix[top_k:]]
    top = [np.column_stack([xs, row]) for row in matrix[:top_k]]
    # Vector even when dense: an image of a thousand thin lines weighs more than the lines.
    ax.add_collection(LineCollection(rest, colors="#7f7f7f", linewidths=0.6, alpha=0.25))
    ax.add_collection(LineCollection(top, colors=BEST_COLOR, linewidths=1.6, alpha=0.9, label=f"top {len(top)}"))
    n_axes = len(xs)
    mark(ax, np.tile(xs, len(ids)), matrix.reshape(-1), [tid for tid in ids for _ in range(n_axes)],
         axis=list(range(n_axes)) * len(ids))
    mark_axes(ax, [n.replace("\\$", "$") for n in names], xs)
    for x, axis_ticks in zip(xs, ticks, strict=True):
        ax.axvline(x, color="#333333", lw=0.8)
        for y, text in axis_ticks:
            ax.text(x + 0.04, y, text, fontsize=7, va="center", ha="left", color="#333333")
    ax.set_xlim(-0.2, xs[-1] + 0.6)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(xs, names, rotation=20, ha="right")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(0, 1.12), ncols=2)
    note_sample(fig, data)
    return svg_text(fig)
