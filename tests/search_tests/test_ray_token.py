"""Ray's token: made once, atomically, for local instances, before Ray would race to make it; found, in Ray's
order, for a cluster that wants it, and one line naming what to set when it is missing or refused (the
clusters that want it: ``test_cluster_env.py``, ``test_submit.py``)."""

from __future__ import annotations

import multiprocessing
import re
import stat
from pathlib import Path

import pytest

from hpo.search.cluster.ray_token import Token, ensure_local_token, token_at_hand, token_problem


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


# -- the token a driver joining a cluster presents (hpo.search.cluster.ray_token.present_token) ------------
_WHERE = "cluster.address: the Ray cluster at '10.0.0.1:6379'"


def test_the_token_at_hand_is_found_in_rays_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert token_at_hand() is None
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("from-file\n")
    assert token_at_hand() == Token("from-file", str(home / ".ray" / "auth_token"), home / ".ray" / "auth_token")
    named = home / "elsewhere"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(named))
    assert token_at_hand() == Token("", f"RAY_AUTH_TOKEN_PATH ({named})", named)  # Ray reads no further
    named.write_text("from-path")
    assert token_at_hand() == Token("from-path", f"RAY_AUTH_TOKEN_PATH ({named})", named)
    monkeypatch.setenv("RAY_AUTH_TOKEN", " from-env ")
    assert token_at_hand() == Token("from-env", "RAY_AUTH_TOKEN")


def test_what_stops_a_join_is_one_line_naming_what_to_set(home: Path) -> None:
    assert token_problem(where=_WHERE, answer="ok", token=Token("t", "RAY_AUTH_TOKEN")) is None
    assert token_problem(where=_WHERE, answer="unknown", token=None) is None  # not a GCS that said no: Ray decides
    assert token_problem(where=_WHERE, answer="refused", token=None) == (
        f"{_WHERE} wants Ray's authentication token and none is set here; set RAY_AUTH_TOKEN to the cluster's "
        f"token (`ray get-auth-token` on its head prints it), or write it to {home}/.ray/auth_token")
    assert token_problem(where=_WHERE, answer="refused", token=Token("t", "RAY_AUTH_TOKEN")) == (
        f"{_WHERE} refused the token from RAY_AUTH_TOKEN; set RAY_AUTH_TOKEN to the cluster's token "
        "(`ray get-auth-token` on its head prints it)")
    mine = home / ".ray" / "auth_token"
    assert token_problem(where=_WHERE, answer="refused", token=Token("t", str(mine), mine)) == (
        f"{_WHERE} refused the token from {mine}; write the cluster's token to {mine} (`ray get-auth-token` on its "
        "head prints it), or set RAY_AUTH_TOKEN to it")
    named = home / "t"
    assert token_problem(where=_WHERE, answer="refused", token=Token("", f"RAY_AUTH_TOKEN_PATH ({named})", named)) \
        == (f"{_WHERE} wants Ray's authentication token and RAY_AUTH_TOKEN_PATH ({named}) is missing or empty; "
            f"write the cluster's token to {named} (`ray get-auth-token` on its head prints it), or set "
            "RAY_AUTH_TOKEN to it")
