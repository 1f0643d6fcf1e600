"""A big sweep's plots drawn after its page: one plot at a time, each on its own URL.

Drawing the plots of a sampled sweep (past ``SAMPLE_ABOVE`` trials) with their hit maps takes over a
second at 10,000 trials, more than the rest of its page. Its first response therefore carries a
placeholder per plot (a link to ``/sweeps/NAME/plots/KIND``); the script fetches each one and inserts it.
"""

from __future__ import annotations

from collections.abc import Callable

from hpo.results.report.data import ReportData

__all__ = ["ORDER", "draw", "lazy", "plot_kinds", "slot_prefix"]

# The page's order of plots (as ``all_plots`` draws them), and so the order they are drawn in.
ORDER = ("pareto", "curves", "params", "parallel", "contour", "best_so_far", "timeline", "rungs")


def lazy(data: ReportData) -> bool:
    """Whether ``data``'s page serves placeholders for its plots: when they draw a sample (a big sweep)."""
    return data.sampled


def plot_kinds(data: ReportData) -> list[str]:
    """The plots that may have something to draw, cheaply told (a kind that then draws nothing says so)."""
    from hpo.results.analysis.pareto import objectives_of
    from hpo.results.report.plots import contour_axes

    if not data.trials:
        return []
    ruled_out = set()
    if len(objectives_of(data.sweep, data.plan)) < 2:
        ruled_out.add("pareto")
    if not data.rungs:
        ruled_out.add("rungs")
    if len(contour_axes(data)) < 2:
        ruled_out.add("contour")
    if not data.params:
        ruled_out |= {"params", "parallel"}
    if data.results.empty:
        ruled_out |= {"curves", "best_so_far"}
    return [kind for kind in ORDER if kind not in ruled_out]


def _maker(kind: str, pair: tuple[str, str] | None) -> Callable[[ReportData], str | None]:
    from hpo.results.report import plots
    from hpo.results.report.parallel import parallel_coordinates

    if kind == "contour":
        return lambda data: plots.contour_plot(data, pair)
    makers: dict[str, Callable[[ReportData], str | None]] = {
        "pareto": plots.pareto_plot, "curves": plots.learning_curves, "params": plots.params_plot,
        "parallel": parallel_coordinates, "best_so_far": plots.best_so_far, "timeline": plots.timeline,
        "rungs": plots.rung_survivors}
    return makers[kind]


def draw(data: ReportData, kind: str, *, pair: tuple[str, str] | None = None) -> str | None:
    """The SVG of one plot, with its hit map (None when it has nothing to draw); ``pair``: the contour's
    params, when the URL chose them. The caller holds the plot lock (matplotlib's rc_context is global)."""
    from hpo.results.report.figure import hit_maps, style

    with style(), hit_maps():
        return _maker(kind, pair)(data)


def slot_prefix(kind: str) -> str:
    """The prefix of a lazily drawn plot's SVG ids on the page (unique per plot, as ``d1``... are)."""
    return f"l{ORDER.index(kind) + 1}"
