"""Ray's cluster internals behind hpo.search.ray_compat.cluster: the address file and the token banner's
logger (the node lookup runs in every sweep: test_sweep checks the store's node ids)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hpo.search.ray_compat.cluster import QuietAuthBanner, ray_address_file


def test_the_address_file_follows_rays_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    assert ray_address_file() == tmp_path / "ray" / "ray_current_cluster"


@pytest.mark.parametrize(("verbose", "inside"), [(False, logging.ERROR), (True, logging.NOTSET)])
def test_the_token_banner_is_held_back_unless_verbose(verbose: bool, inside: int) -> None:
    import ray._private.authentication.authentication_token_setup as module

    log = logging.getLogger(module.__name__)
    assert module.__name__ == QuietAuthBanner.LOGGER and log.level == logging.NOTSET
    with QuietAuthBanner(verbose=verbose):
        assert log.level == inside
    assert log.level == logging.NOTSET
