"""The ``hpo`` command line, one module per command group; ``main`` is the console script's entry point.

``main`` (the group, ``validate``, exit codes), ``sweep`` (sweep, resume, extend), ``store`` (ls,
trials, best, report), ``derive`` (confirm, refine), ``jobs`` (submit, status, logs, stop) and
``serve``; what they share (options, opening the store, the printed summary) is in ``_shared``, and
tables that fit the terminal in ``_tables`` (``_errors_view`` is ``hpo trials --errors``), so no
command module imports another. Nothing but the entry point imports this package: the commands
parse, call the Python API, print, and pick the exit code.
"""

from __future__ import annotations

from hpo.search.cli.main import main

__all__ = ["main"]
