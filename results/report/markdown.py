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

__all__ = ["code_block", "md", "render_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # what can start emphasis, code, links or end a cell
MAX_ERRORS = 50  # distinct errors listed; the rest are counted


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


def _errors(data: ReportData) -> list[str]:
    """The Errors section: each distinct error once with its count and trials, then the replaced trials."""
    out = ["## Errors", "", md(errors_note(data)), ""]
    headers, rows = error_table(data)
    if rows:
        out += [_table(headers, rows[:MAX_ERRORS]), ""]
        if len(rows) > MAX_ERRORS:
            out += [f"… and {len(rows) - MAX_ERRORS} more distinct errors (the JSON report lists every one).", ""]
    replaced = replaced_rows(data)
    if replaced:
        out += ["Replaced by a later run (not counted among the trials):", "",
                *[f"- {md(old)} by {md(new)}: {md(error)}" for old, new, error in replaced], ""]
    return out


def render_markdown(data: ReportData, plot_files: dict[str, str]) -> str:
    """The report as Markdown; ``plot_files`` maps plot key to the SVG's file name beside it."""
    sweep = data.sweep
    out = [f"# Sweep {md(sweep.name)} ({md(sweep.shown_status)})", "",
           f"{md(sweep.metric)} ({md(sweep.mode)}) · {len(data.trials)} trials · generated "
           f"{md(data.generated.isoformat(timespec='seconds'))}", "", "## The sweep", "", _kv(summary_rows(data)),
           "", "## Best trial", ""]
    best = data.best
    if best is None:
        out += [md(no_best_text(data)), ""]
    else:
        out += [f"**{md(sweep.metric)} = {md(fmt(best.last_metric))}** (trial {md(best.trial_id)})", "",
                _kv(best_rows(data, best)), "", "Config:", "", code_block(yaml_text(best.config), "yaml"), "",
                "Reproduce (rerun this config once for the full max_t):", "",
                code_block(data.reproduce_command() or "", "sh"), ""]
        if not data.spec.get("source"):
            out += ["Here `spec.yaml` is the resolved spec at the end of this report.", ""]
        out += ["<details><summary>Last reported metrics</summary>", "", _kv(best_metrics(best)), "",
                "</details>", ""]
    out += _errors(data)
    if data.confirmation is not None:
        conf_headers, conf_rows = confirmation_table(data)
        out += ["## Confirmation", "", md(confirmation_note(data)), "",
                *[f"- {md(line)}" for line in data.confirmation.verdict()], "", _table(conf_headers, conf_rows), ""]
    headers, rows = top_table(data)
    out += ["## Top trials", "", _table(headers, rows), "", "## Plots", ""]
    if data.sample is not None and data.sample.sampled:
        out += [md(data.sample.note()), ""]
    notes = plot_notes(data) or ([] if plot_files else ["No results to plot yet."])
    for note in notes:
        out += [md(note), ""]
    for key, name in plot_files.items():
        out += [f"### {PLOTS[key]}", "", f"![{PLOTS[key]}]({quote(name)})", ""]
    imp_headers, imp_rows = importance_table(data)
    out += ["## Importance", ""]
    out += ([IMPORTANCE_NOTE, "", _table(imp_headers, imp_rows), ""] if imp_rows else
            [md(importance_note(data)), ""])
    if data.lineage:
        lin_headers, lin_rows = lineage_table(data)
        out += ["## Lineage (PBT)", "", LINEAGE_NOTE, "", _table(lin_headers, lin_rows), ""]
    all_headers, all_rows = all_trials_table(data)
    out += ["## All trials", "", f"<details><summary>{len(all_rows)} trials, best first</summary>", "",
            _table(all_headers, all_rows), "", "</details>", "", "## Spec", "",
            code_block(mask_secrets(sweep.spec_yaml or "(no spec recorded)"), "yaml"), "",
            f"hpo report · store {md(data.store_url)}", ""]
    return "\n".join(out)
