"""The ``hpo`` command line, one module per command group; ``main`` is the console script's entry point.

Nothing but the entry point imports this package: the commands parse, call the Python API, print,
and pick the exit code.
"""

from __future__ import annotations

from hpo.search.cli.main import main

__all__ = ["main"]
