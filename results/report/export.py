"""``export_report``: one sweep as HTML, Markdown (+ SVG files), JSON or CSV, written atomically."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hpo.results.analysis.confirm import confirmed_columns
from hpo.results.analysis.cost import trial_cost
from hpo.results.report.data import ReportData, collector_paused, gather
from hpo.results.report.tabular import trials_to_csv
from hpo.results.secrets import mask_secrets
from hpo.results.store.records import iso
from hpo.results.store.store import Store

__all__ = ["FORMATS", "REPORT_FORMAT_VERSION", "export_report", "report_json", "write_atomic"]

logger = logging.getLogger(__name__)

FORMATS = {"html": "html", "md": "md", "json": "json", "csv": "csv"}  # format -> file extension
REPORT_FORMAT_VERSION = 1  # bump when a JSON key changes meaning or goes away


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and ``os.replace``:
    a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; a report is for sharing, so give it the usual mode (umask applied).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_json(data: ReportData) -> dict[str, Any]:
    """The JSON report's document (keys documented in the README, stable within a format_version)."""
    milestones = data.rungs
    until = data.sweep.ended_at
    return {
        "format": "hpo-report",
        "format_version": REPORT_FORMAT_VERSION,
        "generated": iso(data.generated),
        "scope": "last",
        "sweep": {**data.sweep.to_dict(), "store": data.store_url},
        "spec": _masked(data.spec),
        "best": data.best.to_dict() if data.best else None,
        "reproduce": data.reproduce_command(),
        "rungs": [{"iteration": m, "trials": sum(t.iterations >= m for t in data.trials)} for m in milestones],
        "cost": data.cost.to_dict(),
        "importance": [imp.to_dict() for imp in data.importance],
        "lineage": [e.to_dict() for e in data.lineage],
        "confirmation": data.confirmation.to_dict() if data.confirmation else None,
        "errors": [group.to_dict() for group in data.errors],
        "replaced": [{**t.to_dict(), **trial_cost(t, data.plan, until=until).to_dict()} for t in data.replaced],
        "trials": [{**t.to_dict(), **trial_cost(t, data.plan, until=until).to_dict()} for t in data.trials],
    }


def _masked(value: Any) -> Any:
    """``value`` with every string in it (keys too) through :func:`mask_secrets` (a spec's ``storage:``...)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "sweep"


def _target(name: str, fmt: str, path: str | os.PathLike[str] | None, home: Path) -> Path:
    filename = f"{_safe_stem(name)}.{FORMATS[fmt]}"
    if path is None:
        return home / "reports" / filename
    target = Path(path)
    # An existing folder, or a path written as one ("pr/"), gets <name>.<ext> inside it.
    if target.is_dir() or str(path).endswith(("/", os.sep)):
        return target / filename
    return target


def export_report(
    name: str,
    *,
    fmt: str = "html",
    path: str | os.PathLike[str] | None = None,
    store: Store | None = None,
    home: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a report of one sweep and return its path.

    Args:
        name: The sweep's name.
        fmt: ``html`` (one self-contained file), ``md`` (plus sibling ``<stem>.<plot>.svg`` files),
            ``json`` or ``csv`` (one row per trial).
        path: Output file (or an existing folder). Default ``<home>/reports/<name>.<ext>``.
        store: The store to read; default ``Store.open(home=home)``.
        home: Run home (default the store's, else ``$HPO_HOME``, else ``./runs``).

    Returns:
        The report file's path.

    Raises:
        SweepNotFoundError: no such sweep (the message lists close names).
        ValueError: unknown ``fmt``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    own = store is None
    opened = Store.open(home=home) if store is None else store
    try:
        target = _target(name, fmt, path, Path(home) if home is not None else opened.home)
        with collector_paused():
            _write(opened, name, fmt, target)
    finally:
        if own:
            opened.close()
    logger.info("wrote %s report of %s to %s", fmt, name, target)
    return target


def _write(store: Store, name: str, fmt: str, target: Path) -> None:
    data = gather(store, name)
    if fmt == "json":
        write_atomic(target, json.dumps(report_json(data), indent=2, default=str) + "\n")
    elif fmt == "csv":
        write_atomic(target, trials_to_csv(data.trials, extra=confirmed_columns(data.confirmation)))
    else:
        from hpo.results.report.plots import all_plots

        plots = all_plots(data)
        if fmt == "html":
            from hpo.results.report.html import render_html

            write_atomic(target, render_html(data, plots))
        else:
            from hpo.results.report.markdown import render_markdown

            files = {}
            for key, svg in plots.items():
                svg_path = target.with_name(f"{target.stem}.{key}.svg")
                write_atomic(svg_path, svg)
                files[key] = svg_path.name
            write_atomic(target, render_markdown(data, files))
