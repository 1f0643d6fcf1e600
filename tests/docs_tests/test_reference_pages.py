"""The reference pages' generated regions are committed, and match what the code generates now.

They are read on GitHub, where no MkDocs build fills them: a spec field, a command option or a public
function changed without `make reference` leaves a page out of date, and this test says which.
No site build here (the quick tier): the generators run in this process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from doc_examples import ROOT


def _reference() -> ModuleType:
    # docs/_gen is not a package (MkDocs loads its hook by path): loaded the same way here.
    path = ROOT / "docs" / "_gen" / "reference.py"
    spec = importlib.util.spec_from_file_location("_hpo_docs_reference", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


REFERENCE = _reference()


@pytest.mark.parametrize("page", REFERENCE.PAGES)
def test_the_committed_page_is_what_the_code_generates(page: str) -> None:
    text = (ROOT / page).read_text()
    assert "<!-- end generated: " in text, f"{page} has no generated region committed; run make reference"
    assert REFERENCE.render(text) == text, f"{page} is out of date; run make reference"


def test_a_stale_page_is_named_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    for page in REFERENCE.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text(REFERENCE.render((ROOT / page).read_text()))
    spec = tmp_path / "docs/reference/spec.md"
    spec.write_text(spec.read_text().replace("| `search.num_samples` |", "| `search.num_sample` |"))
    assert REFERENCE.stale_pages(tmp_path) == ["docs/reference/spec.md is out of date; run make reference"]
    assert REFERENCE.write_pages(tmp_path) == ["docs/reference/spec.md"]
    assert REFERENCE.stale_pages(tmp_path) == []


def test_regions_are_replaced_between_their_markers_and_bare_markers_filled() -> None:
    page = ("# Title\n\n<!-- generated: params -->\n\nold text\n\n<!-- end generated: params -->\n\nprose\n\n"
            "<!-- generated: params -->\n\ntail\n")
    rendered = REFERENCE.render(page)
    region = f"<!-- generated: params -->\n\n{REFERENCE.params().strip()}\n\n<!-- end generated: params -->"
    assert rendered == f"# Title\n\n{region}\n\nprose\n\n{region}\n\ntail\n"
    assert REFERENCE.render(rendered) == rendered
    with pytest.raises(KeyError, match="unknown generated region 'nope'"):
        REFERENCE.render("<!-- generated: nope -->")


def test_the_generated_pages_hold_every_command_field_and_public_name() -> None:
    from hpo.search.cli.main import cli
    from hpo.spaces import models

    commands = (ROOT / "docs/reference/cli.md").read_text()
    assert [name for name in cli.commands if f"### `hpo {name}`" not in commands] == []
    spec = (ROOT / "docs/reference/spec.md").read_text()
    assert [k for k in models.SweepSpec.model_fields if f"| `{k}` |" not in spec] == []
    api = (ROOT / "docs/reference/python-api.md").read_text()
    for package in ("spaces", "search", "results", "trainables"):
        module = importlib.import_module(f"hpo.{package}")
        assert [name for name in module.__all__ if f"### `{name}`" not in api] == [], package
    assert " at 0x" not in api  # no object addresses: the page is the same on every run
