"""The command line every measuring step shares: ``--out DIR --json FILE``, and its log format."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

__all__ = ["log_to_stderr", "step_parser"]


def step_parser(doc: str | None) -> argparse.ArgumentParser:
    """A step's parser: its module docstring's first line, ``--out`` (the output folder) and ``--json``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path, required=True)
    return parser


def log_to_stderr() -> None:
    """INFO lines with a time stamp: each step's log lands in ``logs/<step>.log``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
