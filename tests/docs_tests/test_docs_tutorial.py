"""The executed examples of docs/tutorial/ (see doc_examples.py for what each kind of block means)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from doc_examples import Block, examples, page_names

PAGES = page_names("docs/tutorial/")


@pytest.mark.parametrize("block", examples(PAGES))
def test_example(block: Block, run_example: Callable[[Block], None]) -> None:
    run_example(block)
