"""The Markdown report (GitHub-flavoured, for a pull request); plots are sibling SVG files.

Text from the store is escaped for Markdown (``md``) and for table cells (pipes too); code
blocks use a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hpo.results.report.data import ReportData, yaml_text
from hpo.results.report.plots import PLOTS
from hpo.results.report.sections import (
    IMPORTANCE_NOTE,
    LINEAGE_NOTE,
    all_trials_table,
    best_metrics,
    best_rows,
    confirmation_note,
    confirmation_table,
    error_rows,
    fmt,
    importance_table,
    lineage_table,
    summary_rows,
    top_table,
)
from hpo.results.secrets import mask_secrets

__all__ = ["code_block", "md", "render_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # what can start emphasis, code, links or end a cell
MAX_ERRORS = 50


def md(text: object) -> str:
    """Markdown-safe inline text: Markdown punctuation backslash-escaped, HTML as entities, one line."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    return " ".join(value.split())


def code_block(text: str, lang: str = "") -> str:
    """A fenced code block whose fence cannot be closed by the content."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _kv(rows: list[tuple[str, str]]) -> str:
    return _table(["", ""], [[k, v] for k, v in rows])


def render_markdown(data: ReportData, plot_files: dict[str, str]) -> str:
    """The report as Markdown; ``plot_files`` maps plot key to the SVG's file name beside it."""
    sweep = data.sweep
    out = [f"# Sweep {md(sweep.name)} ({md(sweep.status)})", "",
           f"{md(sweep.metric)} ({md(sweep.mode)}) · {len(data.trials)} trials · generated "
           f"{md(data.generated.isoformat(timespec='seconds'))}", "", "## The sweep", "", _kv(summary_rows(data)),
           "", "## Best trial", ""]
    best = data.best
    if best is None:
        out += ["No trial has reported the metric yet.", ""]
    else:
        out += [f"**{md(sweep.metric)} = {md(fmt(best.last_metric))}** (trial {md(best.trial_id)})", "",
                _kv(best_rows(data, best)), "", "Config:", "", code_block(yaml_text(best.config), "yaml"), "",
                "Reproduce (rerun this config once for the full max_t):", "",
                code_block(data.reproduce_command() or "", "sh"), ""]
        if not data.spec.get("source"):
            out += ["Here `spec.yaml` is the resolved spec at the end of this report.", ""]
        out += ["<details><summary>Last reported metrics</summary>", "", _kv(best_metrics(best)), "",
                "</details>", ""]
    if data.confirmation is not None:
        conf_headers, conf_rows = confirmation_table(data)
        out += ["## Confirmation", "", md(confirmation_note(data)), "",
                *[f"- {md(line)}" for line in data.confirmation.verdict()], "", _table(conf_headers, conf_rows), ""]
    headers, rows = top_table(data)
    out += ["## Top trials", "", _table(headers, rows), "", "## Plots", ""]
    if data.sample is not None and data.sample.sampled:
        out += [md(data.sample.note()), ""]
    if not plot_files:
        out += ["No results to plot yet.", ""]
    for key, name in plot_files.items():
        out += [f"### {PLOTS[key]}", "", f"![{PLOTS[key]}]({quote(name)})", ""]
    imp_headers, imp_rows = importance_table(data)
    out += ["## Importance", ""]
    out += ([IMPORTANCE_NOTE, "", _table(imp_headers, imp_rows), ""] if imp_rows else
            ["Too few trials with the metric to estimate importance.", ""])
    if data.lineage:
        lin_headers, lin_rows = lineage_table(data)
        out += ["## Lineage (PBT)", "", LINEAGE_NOTE, "", _table(lin_headers, lin_rows), ""]
    errors = error_rows(data)
    out += [f"## Errored trials ({len(errors)})", ""]
    out += [f"- {md(trial_id)}: {md(summary)}" for trial_id, summary, _ in errors[:MAX_ERRORS]] or ["None."]
    if len(errors) > MAX_ERRORS:
        out.append(f"- … and {len(errors) - MAX_ERRORS} more")
    all_headers, all_rows = all_trials_table(data)
    out += ["", "## All trials", "", f"<details><summary>{len(all_rows)} trials, best first</summary>", "",
            _table(all_headers, all_rows), "", "</details>", "", "## Spec", "",
            code_block(mask_secrets(sweep.spec_yaml or "(no spec recorded)"), "yaml"), "",
            f"hpo report · store {md(data.store_url)}", ""]
    return "\n".join(out)
