"""The executed examples of half of docs/how-to/ (see doc_examples.py for what each kind of block means)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from doc_examples import Block, examples, page_names

PAGES = page_names(
    "docs/how-to/cluster.md",
    "docs/how-to/confirm-refine.md",
    "docs/how-to/dashboard.md",
    "docs/how-to/develop.md",
    "docs/how-to/failures.md",
    "docs/how-to/gpus.md",
    "docs/how-to/multi-worker.md",
    "docs/how-to/pbt.md",
)


@pytest.mark.parametrize("block", examples(PAGES))
def test_example(block: Block, run_example: Callable[[Block], None]) -> None:
    run_example(block)
