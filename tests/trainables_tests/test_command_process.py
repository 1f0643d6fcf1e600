"""A command trial's process group, without Ray: SIGTERM first, SIGKILL after the grace, nothing left running;
the guard that ends the group when the trial's process dies; the checkpoint folder's copies."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpo.results import error_summary
from hpo.trainables.command import CommandFailedError, CommandMetricError, CommandSettings
from hpo.trainables.command import checkpoint as ckpt
from hpo.trainables.command.errors import quoted_tail
from hpo.trainables.command.process import group_alive
from hpo.trainables.command.trial import command_name

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups read from /proc")

ACTOR = Path(__file__).with_name("command_actor.py")

# The script under test: a SIGTERM handler that writes a marker (and exits, unless it ignores SIGTERM), and
# a child process that ignores SIGTERM too when the script does; `ready` holds the child's pid.
SCRIPT = """\
import os, signal, subprocess, sys, time
from pathlib import Path

IGNORE = {ignore}

def on_term(signum, frame):
    Path("marker").write_text("SIGTERM")
    if not IGNORE:
        sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
child = subprocess.Popen([sys.executable, "-c", "import signal, time, pathlib; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN if {ignore} else signal.SIG_DFL); "
                          "pathlib.Path('child-ready').touch(); time.sleep(600)"])
while not Path("child-ready").exists():
    time.sleep(0.02)
Path("ready.tmp").write_text(str(child.pid))
os.replace("ready.tmp", "ready")
while True:
    time.sleep(0.05)
"""


def _actor(tmp_path: Path, mode: str, *, ignore: bool, grace: float) -> dict[str, int]:
    (tmp_path / "script.py").write_text(SCRIPT.format(ignore=ignore))
    out = subprocess.run([sys.executable, str(ACTOR), mode, str(tmp_path), str(grace)], capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sigterm_reaches_the_script_and_nothing_is_left(tmp_path: Path) -> None:
    ran = _actor(tmp_path, "end", ignore=False, grace=10.0)
    assert (tmp_path / "marker").read_text() == "SIGTERM"
    assert ran["killed"] is False  # it exited on SIGTERM, its child with it: no SIGKILL needed
    assert ran["left"] == []


@pytest.mark.slow(seconds=1)  # waits out a grace period, real processes
def test_a_script_that_ignores_sigterm_is_killed_after_the_grace_with_its_grandchild(tmp_path: Path) -> None:
    ran = _actor(tmp_path, "end", ignore=True, grace=0.5)
    assert (tmp_path / "marker").read_text() == "SIGTERM"  # it was asked first
    assert ran["killed"] is True
    assert ran["left"] == []  # /proc/<pid> gone: the script and its child, reaped
    assert not group_alive(ran["pid"])


@pytest.mark.slow(seconds=1)  # waits out a grace period, real processes
def test_the_guard_ends_the_group_when_the_trials_process_dies(tmp_path: Path) -> None:
    ran = _actor(tmp_path, "die", ignore=False, grace=5.0)
    deadline = time.monotonic() + 30
    while (group_alive(ran["pid"]) or _state(ran["guard"]) not in (None, "Z")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(ran["pid"])  # no live process of the script's group (pid 1 may leave zombies)
    assert (tmp_path / "marker").read_text() == "SIGTERM"  # the guard asked first, as a stop would
    assert _state(ran["guard"]) in (None, "Z")  # and left once the group was empty


def _state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()[0]


def test_the_checkpoint_folder_is_copied_when_it_changed_and_restored_whole(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    ckpt.empty(folder)
    assert ckpt.signature(folder) == ()
    assert ckpt.snapshot(folder, into=tmp_path) is None  # nothing written: no checkpoint
    (folder / "sub").mkdir()
    (folder / "sub" / "state.json").write_text('{"epoch": 3}')
    first = ckpt.signature(folder)
    assert [entry[0] for entry in first] == ["sub/state.json"]
    snap = ckpt.snapshot(folder, into=tmp_path)
    assert snap is not None and (snap / "sub" / "state.json").read_text() == '{"epoch": 3}'
    assert ckpt.signature(folder) == first  # unchanged: the next result carries no copy
    (folder / "sub" / "state.json").write_text('{"epoch": 4}')  # same size, maybe the same mtime tick
    assert ckpt.signature(folder) != first
    (folder / "stale").write_text("x")
    ckpt.restore(snap, folder)  # a retry: the folder holds the checkpoint, and only it
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == ["sub", "sub/state.json"]
    assert (folder / "sub" / "state.json").read_text() == '{"epoch": 3}'


def _settings(command: str) -> CommandSettings:
    return CommandSettings(tokens=tuple(command.split()), args="flags", cwd="trial", spec_dir="/x", required=("loss",))


def test_errors_are_named_by_the_script_and_summarised_by_their_first_line() -> None:
    assert command_name(_settings("python train.py --epochs {epochs}")) == "python train.py"
    assert command_name(_settings("python3 -u /a/b/train.py")) == "python3 train.py"
    assert command_name(_settings("python -m pkg.train --lr 1")) == "python -m pkg.train"
    assert command_name(_settings("./run.sh {lr}")) == "run.sh"
    failed = CommandFailedError("python train.py exited with code 1\n" + quoted_tail(
        "its stderr, last 20 lines:", ["Traceback (most recent call last):", "ValueError: boom"]))
    # As Ray's error text ends: the exception's qualified name, then its message (the script's lines after it).
    text = "Traceback (most recent call last):\nhpo.trainables.command.errors.CommandFailedError: " + str(failed)
    assert error_summary(text) == "hpo.trainables.command.errors.CommandFailedError: python train.py exited with code 1"
    assert str(CommandMetricError(quoted_tail("its output, last 20 lines:", []))).endswith("  | (none)")
    assert str(failed).splitlines()[1:] == [
        "its stderr, last 20 lines:", "  | Traceback (most recent call last):", "  | ValueError: boom"]
