"""MkDocs hook: fill the reference pages' ``<!-- generated: NAME -->`` markers from the code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the packages are importable from the checkout, installed or not
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference import render  # noqa: E402


def on_page_markdown(markdown: str, **_: Any) -> str:
    return render(markdown)
