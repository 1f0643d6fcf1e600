"""The driver in the store: recorded on start, heartbeat while alive, resume refused while it lives,
``hpo ls`` shows a sweep whose driver went silent as ``lost``. No Ray: a real store and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import wait_for
from sqlalchemy import text

from hpo.results import HEARTBEAT_STALE_S, Store
from hpo.search.cli.main import cli
from hpo.search.engine.driver import JOB_ID_ENV, Heartbeat, check_not_running, driver_alive, this_host
from hpo.search.engine.sweep import resume_sweep
from hpo.search.errors import SweepInputError

SPEC_YAML = "name: s1\ntrainable: toy:quadratic\nmetric: loss\nmode: min\n"


@pytest.fixture
def store(tmp_home: Path) -> Store:
    opened = Store.open(home=tmp_home)
    opened.start_sweep(name="s1", spec_yaml=SPEC_YAML, spec_hash="x", metric="loss", mode="min")
    return opened


def _dead_pid() -> int:
    """The pid of a process that has exited (reaped, so nothing answers to it)."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


def _age(store: Store, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sweeps SET heartbeat = :t"), {"t": time.time() - seconds})


def test_heartbeat_records_driver_and_stamps_until_exit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(JOB_ID_ENV, "hpo-s1-0001")
    with Heartbeat(store, "s1", every_s=0.05):
        record = store.get_sweep("s1")
        assert (record.driver_host, record.driver_pid, record.job_id) == (this_host(), os.getpid(), "hpo-s1-0001")
        _age(store, 30)
        wait_for(lambda: store.get_sweep("s1").heartbeat_age_s < 5, timeout=5, every=0.05,  # type: ignore[operator]
                 what=lambda: f"a fresh heartbeat (age: {store.get_sweep('s1').heartbeat_age_s} s)")
        assert driver_alive(store.get_sweep("s1"))
    _age(store, 30)
    time.sleep(0.2)
    assert store.get_sweep("s1").heartbeat_age_s > 25  # type: ignore[operator]  # the thread stopped


def test_alive_driver_on_this_host_blocks_resume_with_how_to_stop(store: Store, tmp_home: Path) -> None:
    store.set_driver("s1", host=this_host(), pid=os.getpid(), job_id="hpo-s1-77")
    with pytest.raises(SweepInputError) as err:
        check_not_running(store.get_sweep("s1"))
    assert str(err.value) == (
        f"sweep 's1' is still running (pid {os.getpid()} on {this_host()}, Ray job hpo-s1-77, heartbeat 0 s ago); "
        f"stop it with `hpo stop s1`, then resume it")
    result = CliRunner().invoke(cli, ["resume", "s1", "--home", str(tmp_home)])
    assert result.exit_code == 2
    assert result.output.startswith("hpo resume: sweep 's1' is still running (pid ")
    with pytest.raises(SweepInputError, match="still running"):
        resume_sweep("s1", home=tmp_home)


def test_dead_pid_or_stale_heartbeat_is_not_alive(store: Store) -> None:
    store.set_driver("s1", host=this_host(), pid=_dead_pid())
    assert not driver_alive(store.get_sweep("s1"))  # killed: same host, pid gone, heartbeat still fresh
    store.set_driver("s1", host="some-other-host", pid=1)
    assert driver_alive(store.get_sweep("s1"))  # another host: the heartbeat is all we can see
    _age(store, HEARTBEAT_STALE_S + 1)
    assert not driver_alive(store.get_sweep("s1"))
    check_not_running(store.get_sweep("s1"))  # no error: a lost sweep may be resumed


def test_ls_shows_a_silent_running_sweep_as_lost(store: Store, tmp_home: Path) -> None:
    store.set_driver("s1", host="some-other-host", pid=1)
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    fresh = CliRunner().invoke(cli, ["ls", "--home", str(tmp_home)], env=env)
    assert fresh.exit_code == 0 and "│ s1   │ running" in fresh.output, fresh.output
    _age(store, HEARTBEAT_STALE_S + 1)
    lost = CliRunner().invoke(cli, ["ls", "--home", str(tmp_home)], env=env)
    assert lost.exit_code == 0 and "│ s1   │ lost" in lost.output, lost.output
