"""``/compare``'s plot: best so far against trials finished and against GPU-hours, one line per sweep."""

from __future__ import annotations

from typing import Any

from hpo.results.report.figure import figure, plain_text, short_label, style, svg_text

__all__ = ["compare_plot"]

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def compare_plot(series: list[dict[str, Any]]) -> str | None:
    """SVG with two panels; the cost axis is GPU-hours, or CPU-hours when no sweep used a GPU."""
    drawn = [s for s in series if s["best"]]
    if not drawn:
        return None
    use_gpu = any(s["gpu_hours"] and s["gpu_hours"][-1] > 0 for s in drawn)
    cost_key, cost_label = ("gpu_hours", "GPU-hours") if use_gpu else ("cpu_hours", "CPU-hours (no sweep used a GPU)")
    with style():
        fig = figure(10, 3.6)
        left, right = fig.subplots(1, 2)
        for index, s in enumerate(drawn):
            color = _PALETTE[index % len(_PALETTE)]
            label = short_label(s["name"])
            left.step(s["trials"], s["best"], where="post", color=color, lw=1.6, label=label)
            right.step(s[cost_key], s["best"], where="post", color=color, lw=1.6, label=label)
        metrics = {(s["metric"], s["mode"]) for s in drawn}
        ylabel = plain_text(" / ".join(f"{m} ({mode})" for m, mode in sorted(metrics)))
        left.set_xlabel("trials finished")
        right.set_xlabel(cost_label)
        for ax in (left, right):
            ax.set_ylabel(f"best so far: {ylabel}")
        left.legend(fontsize=7, frameon=False)
        return svg_text(fig)
