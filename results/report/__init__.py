"""Reports: what every format shows, gathered once from the store (``ReportData``), the plots (SVG through
matplotlib, on the shared figure plumbing), and export as HTML, Markdown (+ SVG files), JSON or CSV.

The plots, their plumbing and the HTML/Markdown renderers import numpy and matplotlib: they are imported when
first asked for, so reading report data and writing JSON or CSV never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hpo.results.report.data import ReportData, flow_text, gather, param_importance, yaml_text
from hpo.results.report.export import FORMATS, export_report, report_json, write_atomic
from hpo.results.report.tabular import flatten, trials_to_csv, trials_to_json

if TYPE_CHECKING:
    from hpo.results.report.figure import hit_maps, inline_svg
    from hpo.results.report.html import render_html
    from hpo.results.report.markdown import render_markdown
    from hpo.results.report.plots import PLOTS, all_plots

# The names that import numpy or matplotlib, and the module each lives in.
_LAZY = {"PLOTS": "plots", "all_plots": "plots", "hit_maps": "figure", "inline_svg": "figure",
         "render_html": "html", "render_markdown": "markdown"}

__all__ = [
    "FORMATS",
    "PLOTS",
    "ReportData",
    "all_plots",
    "export_report",
    "flatten",
    "flow_text",
    "gather",
    "hit_maps",
    "inline_svg",
    "param_importance",
    "render_html",
    "render_markdown",
    "report_json",
    "trials_to_csv",
    "trials_to_json",
    "write_atomic",
    "yaml_text",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpo.results.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hpo.results.report.{module}"), name)
