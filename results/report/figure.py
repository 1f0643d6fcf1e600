"""The figure plumbing every plot shares (the report's, the dashboard's): matplotlib's object API (no pyplot, no
global backend), one style, SVG text out, hit maps, and store text made safe for matplotlib.

A plot module draws on ``figure(...)`` inside ``style()`` and returns ``svg_text(fig)``; inside ``hit_maps()``
the points it ``mark``-ed travel in the SVG, so the dashboard's script can say which trial is under the pointer.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from hpo.results.report.data import ReportData

__all__ = [
    "BEST_COLOR",
    "MAX_LABEL",
    "MAX_VECTOR_MARKS",
    "RASTER_DPI",
    "STATUS_COLORS",
    "categories",
    "clear_marks",
    "dense",
    "figure",
    "hit_maps",
    "inline_svg",
    "mark",
    "mark_axes",
    "note_sample",
    "plain_text",
    "short_label",
    "style",
    "svg_text",
    "warm_up",
]

MAX_LABEL = 24  # characters of a category label on an axis
# Past this many marks a layer is drawn as an image inside the SVG: 1,000 trials as vector markers weigh
# a megabyte, and the hit map, not the markers, is what says which trial a point is.
MAX_VECTOR_MARKS = 300
RASTER_DPI = 100

STATUS_COLORS = {"completed": "#1f77b4", "stopped_early": "#7f7f7f", "error": "#d62728", "running": "#2ca02c"}
BEST_COLOR = "#ff7f0e"


@contextmanager
def style() -> Iterator[None]:
    """matplotlib's settings for every plot (rc_context is process-global: draw one plot at a time)."""
    import matplotlib

    with matplotlib.rc_context({
        "svg.fonttype": "none",  # text stays text: smaller files, selectable, no glyph paths
        "svg.hashsalt": "hpo",  # stable ids: the same data gives the same file
        "path.simplify": True,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }):
        yield


def figure(width: float, height: float) -> Any:
    """A new figure of ``width`` x ``height`` inches, laid out by matplotlib's constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


_HITS = threading.local()  # the figure being drawn's trial marks, when hit maps are asked for


@contextmanager
def hit_maps() -> Iterator[None]:
    """Plots drawn inside carry a hit map: where each trial's points lie, in the SVG's own units, as the
    root ``<svg data-hits='{"t": [ids], "p": [[x, y, i, axis], ...], "a": [...]}'>`` the dashboard's
    script reads to say which trial is under the pointer (the static report does without)."""
    _HITS.marks = []
    try:
        yield
    finally:
        del _HITS.marks


def mark(ax: Any, xs: Sequence[float], ys: Sequence[float], trial_ids: Sequence[str], *,
         axis: Sequence[int] | None = None) -> None:
    """Record that trial ``trial_ids[i]`` has a point at data ``(xs[i], ys[i])`` of ``ax`` (inside ``hit_maps``)."""
    marks = getattr(_HITS, "marks", None)
    if marks is not None:
        marks.append((ax, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), list(trial_ids),
                      None if axis is None else list(axis)))


def mark_axes(ax: Any, names: Sequence[str], xs: Sequence[float]) -> None:
    """Parallel coordinates: each vertical axis (its name, and where it runs from 0 to 1), for brushing."""
    marks = getattr(_HITS, "marks", None)
    if marks is not None:
        marks.append((ax, np.asarray(xs, dtype=float), None, list(names), "axes"))


def clear_marks() -> None:
    """Forget the marks of a plot that marked, then drew nothing (the next plot starts clean)."""
    marks = getattr(_HITS, "marks", None)
    if marks:
        marks.clear()


def _hit_map(fig: Any, marks: list[Any]) -> dict[str, Any]:
    width, height = fig.get_figwidth() * 72.0, fig.get_figheight() * 72.0
    box = fig.bbox

    def to_svg(ax: Any, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        disp = ax.transData.transform(np.column_stack([xs, ys]))
        return np.column_stack([disp[:, 0] / box.width * width, (1 - disp[:, 1] / box.height) * height])

    ids: dict[str, int] = {}
    points: list[list[float]] = []
    axes: list[dict[str, Any]] = []
    for ax, xs, ys, names, extra in marks:
        if extra == "axes":
            bottom, top = to_svg(ax, xs, np.zeros_like(xs)), to_svg(ax, xs, np.ones_like(xs))
            axes += [{"name": n, "x": round(float(b[0]), 1), "y0": round(float(b[1]), 1), "y1": round(float(t[1]), 1)}
                     for n, b, t in zip(names, bottom, top, strict=True)]
            continue
        keep = np.isfinite(xs) & np.isfinite(ys)
        if not keep.any():
            continue
        where = to_svg(ax, xs[keep], ys[keep])
        x0, y0, x1, y1 = ax.bbox.x0 / box.width * width, (1 - ax.bbox.y1 / box.height) * height, \
            ax.bbox.x1 / box.width * width, (1 - ax.bbox.y0 / box.height) * height
        kept_ids = [tid for tid, k in zip(names, keep, strict=True) if k]
        kept_axis = [a for a, k in zip(extra, keep, strict=True) if k] if extra is not None else None
        for j, (px, py) in enumerate(where):
            if not (x0 - 1 <= px <= x1 + 1 and y0 - 1 <= py <= y1 + 1):
                continue  # outside the drawn range (a robust y-limit cut it off)
            index = ids.setdefault(kept_ids[j], len(ids))
            point = [round(float(px), 1), round(float(py), 1), index]
            if kept_axis is not None:
                point.append(kept_axis[j])
            points.append(point)
    out: dict[str, Any] = {"t": list(ids), "p": points}
    if axes:
        out["a"] = axes
    return out


def dense(count: int) -> bool:
    """Whether a layer of ``count`` marks is drawn as an image (``rasterized=``)."""
    return count > MAX_VECTOR_MARKS


def svg_text(fig: Any) -> str:
    """The figure as SVG text (no date or tool in it: the same data gives the same file), with its hit map
    when drawn inside ``hit_maps``."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", dpi=RASTER_DPI,
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    marks = getattr(_HITS, "marks", None)
    if marks:
        hits = json.dumps(_hit_map(fig, marks), separators=(",", ":")).replace("&", "&amp;").replace("'", "&#39;")
        text = text.replace("<svg ", f"<svg data-hits='{hits}' ", 1)
        marks.clear()
    return text


def plain_text(value: Any) -> str:
    """Text from the store, with ``$`` escaped so matplotlib never reads it as mathtext."""
    return str(value).replace("$", r"\$")


def short_label(value: Any) -> str:
    """A label for an axis or a legend: ``plain_text``, cut to ``MAX_LABEL`` characters."""
    text = str(value)
    return plain_text(text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…")


def categories(values: list[Any]) -> list[str]:
    """Distinct values as labels: numbers in numeric order, then the rest alphabetically."""
    def key(value: Any) -> tuple[int, float, str]:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value), "")
        return (1, 0.0, str(value))

    unique: dict[str, Any] = {}
    for value in values:
        unique.setdefault(str(value), value)
    return sorted(unique, key=lambda label: key(unique[label]))


def note_sample(fig: Any, data: ReportData) -> None:
    """Say on a plot of a sampled sweep how many trials it draws (nothing for a sweep drawn whole)."""
    if data.sample is not None and data.sample.sampled:
        fig.suptitle(f"{len(data.drawn):,} of {len(data.trials):,} trials drawn: the best {data.sample.top} and a "
                     f"fixed sample of {len(data.sample.picked):,}", fontsize=8, color="#5b6478")


def warm_up() -> None:
    """Import matplotlib and load its fonts (what the first figure costs), ahead of a server's first page;
    once a process."""
    if getattr(warm_up, "done", False):
        return
    warm_up.done = True  # type: ignore[attr-defined]
    with style():
        fig = figure(1, 1)
        fig.add_subplot().set_title("warm")
        svg_text(fig)


_ID = re.compile(r'(\bid="|xlink:href="#|href="#|url\(#)([^")]+)')


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG file's text made fit to inline in HTML: no XML prolog or DOCTYPE, no namespace
    declarations (HTML5 supplies them), and every id prefixed so several plots never clash."""
    body = svg[svg.index("<svg"):]
    body = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", body, count=2)
    return _ID.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", body)
