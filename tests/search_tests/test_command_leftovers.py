"""What a dead driver's command trials leave running is ended by pid before a resume, per each trial folder's
``.hpo-command.json``; a pid reused since is left alone. Real processes, no Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import pid_gone, wait_for

from hpo.search.cluster.orphans import COMMAND_RECORD, reap_command_leftovers
from hpo.trainables.command.process import process_start_time

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pids are read from /proc (Linux)")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:  # whatever a failed assertion left: by the pids this test started
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _trial(experiment: Path, name: str, started: list[subprocess.Popen[bytes]], **extra: object) -> tuple[int, ...]:
    """A script (a shell with a child: a group of two) and a guard, each in a session of its own, as a
    command trial starts them; its record in the trial's folder. Returns (leader, child, guard)."""
    script = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE,
                              start_new_session=True)
    guard = subprocess.Popen(["sleep", "300"], start_new_session=True)
    started += [script, guard]
    child = int(script.stdout.readline())  # type: ignore[union-attr]
    folder = experiment / name
    folder.mkdir(parents=True)
    record = {"pid": script.pid, "pgid": script.pid, "guard_pid": guard.pid, **extra}
    (folder / COMMAND_RECORD).write_text(json.dumps(record))
    return script.pid, child, guard.pid


def test_a_dead_drivers_script_group_and_guard_are_ended(tmp_path: Path,
                                                          started: list[subprocess.Popen[bytes]]) -> None:
    experiment = tmp_path / "sweep"
    with_starts = _trial(experiment, "command_a", started)
    leader, _, guard = with_starts
    record = experiment / "command_a" / COMMAND_RECORD
    record.write_text(json.dumps({**json.loads(record.read_text()), "start": process_start_time(leader),
                                  "guard_start": process_start_time(guard)}))
    without = _trial(experiment, "command_b", started)  # no start times: told by when they started
    (experiment / "command_c").mkdir()
    (experiment / "command_c" / COMMAND_RECORD).write_text("{not json")  # skipped, not raised
    killed = reap_command_leftovers(experiment)
    assert sorted(killed) == sorted([*with_starts, *without])
    for proc in started:
        proc.wait(10)
    wait_for(lambda: all(pid_gone(pid) for pid in (*with_starts, *without)), timeout=10, what="every pid gone")
    assert reap_command_leftovers(experiment) == []  # nothing left; safe to call again
    assert reap_command_leftovers(tmp_path / "missing") == []


def test_the_record_read_is_the_one_a_trial_writes() -> None:
    from hpo.trainables.command import trial

    assert trial.COMMAND_RECORD == COMMAND_RECORD


def test_a_pid_reused_since_the_record_is_left_alone(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    experiment = tmp_path / "sweep"
    leader, child, guard = _trial(experiment, "command_a", started)
    record = experiment / "command_a" / COMMAND_RECORD
    # The record's start times are not these processes': their pids were reused since it was written.
    record.write_text(json.dumps({**json.loads(record.read_text()), "start": 1, "guard_start": 1}))
    assert reap_command_leftovers(experiment) == []
    # Without start times, a process that started after the record was written is not the one recorded.
    record.write_text(json.dumps({"pid": leader, "pgid": leader, "guard_pid": guard}))
    os.utime(record, (1.0, 1.0))
    assert reap_command_leftovers(experiment) == []
    assert not any(pid_gone(pid) for pid in (leader, child, guard))
