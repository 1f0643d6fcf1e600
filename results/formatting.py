"""Numbers as people read them, written once for the report, the dashboard, the analysis's verdicts and the CLI.

Each helper shows a missing value as an em dash, so a table cell is never empty and never ``None``.
"""

from __future__ import annotations

from hpo.results.secrets import mask_secrets

__all__ = ["error_summary", "format_duration", "format_hours", "format_number"]


def format_number(value: float | None) -> str:
    """A metric: five significant digits (``0.12346``), ``—`` when there is none."""
    return "—" if value is None else f"{value:.5g}"


def format_hours(value: float | None) -> str:
    """Resource-hours to 3 significant digits (``0.0123``), ``—`` when unknown."""
    return "—" if value is None else f"{value:.3g}"


def format_duration(seconds: float | None) -> str:
    """``1h 02m 03s`` style, ``—`` when unknown."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def error_summary(text: str | None) -> str | None:
    """The line of an error text that names the exception (e.g. ``ValueError: boom``), else its last line;
    secrets in URLs masked (before the line is cut, so a cut cannot split one)."""
    if not text:
        return None
    lines = [line.strip() for line in mask_secrets(text).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Interrupt", "Exit")) and " " not in head:
            return line[:300]
    return lines[-1][:300] if lines else None
