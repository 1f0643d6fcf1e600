"""The raylet's notice of a dead worker is held back on the driver's console unless -v (no Ray started)."""

from __future__ import annotations

import pytest

from hpo.search.ray_compat.logs import WORKER_DIED, quiet_worker_deaths


def test_the_raylet_notice_of_a_dead_worker_is_held_back_unless_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    from ray._private import worker  # what Ray's error-listener thread calls, looked up on each message

    def raylet(line: str) -> None:
        worker.print_to_stdstream({"lines": [line], "pid": "raylet", "is_err": False}, ignore_prefix=False)

    died = f"{WORKER_DIED} by an unexpected system error. Worker exit type: SYSTEM_ERROR"
    try:
        quiet_worker_deaths(verbose=False)
        quiet_worker_deaths(verbose=False)  # twice (a second command in one process): still one wrapper
        raylet(died)
        raylet("Some other news from the raylet")
        out = capsys.readouterr().out
        assert "Some other news from the raylet" in out and WORKER_DIED not in out
        quiet_worker_deaths(verbose=True)
        raylet(died)
        assert WORKER_DIED in capsys.readouterr().out
    finally:
        quiet_worker_deaths(verbose=True)
