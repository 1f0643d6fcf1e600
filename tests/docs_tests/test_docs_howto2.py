"""The executed examples of the other half of docs/how-to/ (see doc_examples.py for what each kind of block means)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from doc_examples import Block, examples, page_names

PAGES = page_names(
    "docs/how-to/existing-script.md",
    "docs/how-to/port-ray-tune.md",
    "docs/how-to/results-and-reports.md",
    "docs/how-to/resume-extend-warm-start.md",
    "docs/how-to/search-and-schedulers.md",
    "docs/how-to/several-objectives.md",
    "docs/how-to/trackers.md",
)


@pytest.mark.parametrize("block", examples(PAGES))
def test_example(block: Block, run_example: Callable[[Block], None]) -> None:
    run_example(block)
