"""Fixtures for the docs' examples: one workspace per page, shared by that page's blocks in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from doc_examples import Block, Workspace, run_block


@pytest.fixture(scope="module")
def _workspaces() -> Iterator[dict[str, Workspace]]:
    """The module's page workspaces; the trainables its pages register (`@register("mynet")`) are
    forgotten after it, so a later test in this process sees the registry a fresh import makes."""
    from hpo.trainables import registry

    saved = dict(registry._REGISTRY)
    yield {}
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


@pytest.fixture
def run_example(_workspaces: dict[str, Workspace], tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Callable[[Block], None]:
    def run(block: Block) -> None:
        if block.page not in _workspaces:
            folder = Path(tmp_path_factory.mktemp("page")).resolve()
            _workspaces[block.page] = Workspace(folder)
        if block.lang in ("console", "python"):
            request.getfixturevalue("ray_session")  # `hpo sweep` and run_sweep join the session's Ray
        run_block(block, _workspaces[block.page], monkeypatch)

    return run
