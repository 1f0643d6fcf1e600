"""Ray's token for local instances: made once, atomically, before Ray would race to make it."""

from __future__ import annotations

import multiprocessing
import re
import stat
from pathlib import Path

import pytest

from hpo.search.cluster.ray_token import ensure_local_token


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_a_missing_token_is_made_private_in_rays_format(home: Path) -> None:
    path = ensure_local_token()
    assert path == home / ".ray" / "auth_token"
    assert re.fullmatch(r"[0-9a-f]{64}", path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth_token"]  # no staged file left


def test_an_existing_token_is_kept(home: Path) -> None:
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("mine")
    assert ensure_local_token() == home / ".ray" / "auth_token"
    assert (home / ".ray" / "auth_token").read_text() == "mine"


@pytest.mark.parametrize(("var", "value"), [("RAY_AUTH_MODE", "disabled"), ("RAY_AUTH_TOKEN", "t"),
                                            ("RAY_AUTH_TOKEN_PATH", "/elsewhere/token")])
def test_nothing_is_written_when_ray_would_not_use_the_default_file(
    home: Path, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    assert ensure_local_token() is None
    assert not (home / ".ray").exists()


def test_an_unwritable_home_is_left_to_ray(home: Path) -> None:
    (home / ".ray").write_text("a file where the folder should be")
    assert ensure_local_token() is None


def _make_and_read(start: object) -> str:
    start.wait()  # type: ignore[attr-defined]
    path = ensure_local_token()
    assert path is not None
    return path.read_text()


def test_processes_starting_at_once_all_read_one_token(home: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        start = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            tokens = pool.map(_make_and_read, [start] * 8)
    assert len(set(tokens)) == 1 and re.fullmatch(r"[0-9a-f]{64}", tokens[0])
    assert sorted(p.name for p in (home / ".ray").iterdir()) == ["auth_token"]
