"""``hpo rm``: a sweep (or some trials) out of the store after asking; Ray's files only with ``--files``."""

from __future__ import annotations

import importlib.util
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from harness import hpo_argv
from sqlalchemy import text

from hpo.results import Store
from hpo.search.cli.main import cli
from hpo.search.engine.driver import this_host


def _fill_demo() -> object:
    # The demo sweep of the results tests (6 trials, 17 results), loaded by path so any import mode works.
    path = Path(__file__).resolve().parents[1] / "results_tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_hpo_results_test_fixtures_rm", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.fill_demo  # type: ignore[attr-defined]


fill_demo = _fill_demo()


@pytest.fixture
def home(tmp_home: Path) -> Path:
    """A run home whose store holds the interrupted sweep ``demo``, and Ray's folders of it and its extension."""
    with Store.open() as store:
        fill_demo(store, tmp_home)
        store.finish_sweep("demo", "interrupted")
    for folder in ("demo", "demo-ext1"):
        (tmp_home / "ray" / folder / "trial_x").mkdir(parents=True)
        (tmp_home / "ray" / folder / "trial_x" / "result.json").write_text("{}")
    return tmp_home


def _rm(*args: str) -> Result:
    return CliRunner().invoke(cli, ["rm", *args])


def _url(home: Path) -> str:
    return f"sqlite:///{home / 'store.sqlite'}"


def test_rm_yes_removes_the_sweep_and_leaves_rays_files(home: Path) -> None:
    result = _rm("demo", "--yes")
    assert result.exit_code == 0, result.output
    ray = home / "ray"
    assert result.output == (
        "removed sweep demo: 6 trial(s), 17 result(s)\n"
        f"Ray's files stay in {ray / 'demo'}, {ray / 'demo-ext1'} (delete them to reuse the name demo there)\n")
    with Store.open() as store:
        assert store.find_sweep("demo") is None
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM results")).scalar() == 0
    assert (ray / "demo" / "trial_x" / "result.json").exists()


def test_rm_files_deletes_rays_folders_too(home: Path) -> None:
    (home / "ray" / "other").mkdir()
    result = _rm("demo", "--yes", "--files")
    assert result.exit_code == 0, result.output
    ray = home / "ray"
    assert result.output.splitlines()[1] == f"deleted Ray's files in {ray / 'demo'}, {ray / 'demo-ext1'}"
    assert sorted(p.name for p in ray.iterdir()) == ["other"]


def test_rm_trials_removes_only_those(home: Path) -> None:
    result = _rm("demo", "--trials", "t0", "t3", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output == "removed 2 trial(s) of sweep demo (6 result(s))\n"
    with Store.open() as store:
        assert sorted(t.trial_id for t in store.trials("demo")) == ["t1", "t2", "t4", "t5"]
    assert (home / "ray" / "demo").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["demx", "--yes"], "hpo rm: no sweep named 'demx' in {url}; close names: demo"),
    (["demo", "--trials", "t0", "zz", "--yes"],
     "hpo rm: sweep 'demo' has no trial 'zz' (`hpo trials demo` lists its trials)"),
    (["demo", "t0"], "hpo rm: t0: name one sweep; to remove trials: hpo rm demo --trials ID..."),
    (["demo", "--trials"], "hpo rm: --trials needs the ids of the trials to remove: hpo rm demo --trials ID..."),
    (["demo", "--trials", "t0", "--files", "--yes"],
     "hpo rm: --files removes a whole sweep's Ray files; with --trials only the trials' rows are removed "
     "(leave out --files)"),
    (["demo"], "hpo rm: not removing sweep demo: no terminal to ask on; add --yes to remove without asking"),
    (["demo", "--trials", "t0"],
     "hpo rm: not removing trials of sweep demo: no terminal to ask on; add --yes to remove without asking"),
], ids=["unknown-sweep", "unknown-trial", "ids-without-trials", "trials-without-ids", "files-with-trials",
        "no-terminal", "no-terminal-trials"])
def test_what_is_refused_is_one_line_exit_2_and_nothing_removed(home: Path, args: list[str], expected: str) -> None:
    result = _rm(*args)
    assert result.exit_code == 2, result.output
    assert result.output == expected.format(url=_url(home)) + "\n"
    with Store.open() as store:
        assert store.get_sweep("demo").num_trials == 6
    assert (home / "ray" / "demo").exists()


def test_a_running_sweep_is_refused_and_a_lost_one_may_go(home: Path) -> None:
    with Store.open() as store:
        store.start_sweep(name="demo", spec_yaml=None, spec_hash=None, metric="val_loss", mode="min", resumed=True)
        store.set_driver("demo", host=this_host(), pid=os.getpid())  # this process: a live driver
        result = _rm("demo", "--yes")
        assert result.exit_code == 2
        assert result.output == (f"hpo rm: sweep 'demo' is still running (pid {os.getpid()} on {this_host()}); "
                                 "stop it with `hpo stop demo`, then remove it\n")
        with store.engine.begin() as conn:  # its driver went silent ten minutes ago: lost
            conn.execute(text("UPDATE sweeps SET heartbeat = :t"), {"t": time.time() - 600})
        assert store.get_sweep("demo").shown_status == "lost"
    result = _rm("demo", "--yes")
    assert result.exit_code == 0, result.output


def test_commands_have_the_store_options() -> None:
    command = cli.commands["rm"]
    assert isinstance(command, click.Command)
    assert {"home", "store_url", "yes", "files", "trials_flag"} <= {p.name for p in command.params}


@pytest.mark.slow(seconds=5)
def test_on_a_terminal_rm_asks_and_a_no_removes_nothing(home: Path) -> None:
    """The question on a real terminal (a pty): answered no, exit 1 and one line; answered yes, removed."""
    url = _url(home)

    def ask(answer: bytes) -> tuple[int, str]:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(hpo_argv("rm", "demo"), stdin=follower, stdout=follower, stderr=follower,
                                env={**os.environ, "HPO_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "300"})
        os.close(follower)
        seen = b""
        try:
            deadline = time.monotonic() + 60
            while b"[y/N]" not in seen:
                assert time.monotonic() < deadline, f"no question in 60 s: {seen!r}"
                if select.select([leader], [], [], 0.5)[0]:
                    seen += os.read(leader, 4096)
            os.write(leader, answer)
            proc.wait(timeout=60)
            while select.select([leader], [], [], 0.2)[0]:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal's other end closed
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(leader)
        return proc.returncode, seen.decode().replace("\r\n", "\n")

    code, shown = ask(b"n\n")
    question = f"remove sweep demo (interrupted, 6 trial(s)) and its results from {url}? [y/N]: "
    assert code == 1, shown
    assert shown == f"{question}n\nnothing removed\n"
    with Store.open() as store:
        assert store.find_sweep("demo") is not None
    code, shown = ask(b"y\n")
    assert code == 0, shown
    assert shown.startswith(f"{question}y\nremoved sweep demo: 6 trial(s), 17 result(s)\n")
