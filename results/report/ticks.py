"""Readable ticks: log axes labelled at whole decades only (or 1-2-5 within one decade), base-2 axes
(pow2 params) labelled 16, 32, 64 rather than 2×10^1."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["log_axis", "number_label"]


def number_label(value: float) -> str:
    """Compact tick text: ``64``, ``0.001``, ``1e-05``."""
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def log_axis(ax: Any, values: list[float], *, base2: bool, which: str = "x") -> None:
    """Put ``ax``'s ``which`` axis on a log scale with labels that never overlap."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", base=2 if base2 else 10)
    low, high = min(values), max(values)
    formatter = FuncFormatter(lambda v, _pos: number_label(v))
    if base2:
        exps = range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)
        step = max(1, math.ceil(len(exps) / 7))  # at most ~7 labels
        axis.set_major_locator(FixedLocator([2.0**e for e in exps][::step]))
        axis.set_minor_locator(NullLocator())
    elif high / low < 10:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(NullLocator())
    else:
        decades = math.log10(high / low)
        axis.set_major_locator(LogLocator(base=10, numticks=7 if decades <= 7 else 5))
        formatter = FuncFormatter(lambda v, _pos: f"1e{round(math.log10(v))}" if v < 1e-2 or v >= 1e4
                                  else number_label(v))
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(NullFormatter())
