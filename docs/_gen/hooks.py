"""MkDocs hook: fill the reference pages' generated regions (``<!-- generated: NAME -->``) from the code.

The committed pages hold them already (``make reference``); the build fills them again, so the site
shows the code as it is even before a page is regenerated.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the packages are importable from the checkout, installed or not
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference import PAGES, render  # noqa: E402

__all__ = ["on_page_markdown"]


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    # Only the reference pages: another page may quote a marker (the develop how-to explains them).
    if f"docs/{page.file.src_uri}" not in PAGES:
        return markdown
    return render(markdown)
