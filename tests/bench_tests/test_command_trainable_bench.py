"""``bench/command_trainable.py`` at a small N: its trial script alone, then its three sides on the session's Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.command_trainable import compare, figures_text, training

ROOT = Path(__file__).resolve().parents[2]


def test_the_trial_script_prints_one_report_line_per_loss_and_nothing_else() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "command_trainable.py"), "--trial", "--x=0.25",
                           "--reports=2"], capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["hpo-report:", "hpo-report:"]
    reported = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert [r["loss"] for r in reported] == training(0.25, 2)
    assert all(isinstance(r["reported_at"], float) for r in reported)


@pytest.mark.integration
@pytest.mark.slow(seconds=12)
def test_every_side_runs_and_every_row_is_timed(ray_session: None, tmp_path: Path) -> None:
    sides = compare(tmp_path, trials=2, reports=2, warmup=0)
    assert {kind: (side.rows, len(side.lag_ms), len(side.recorded_gap_ms)) for kind, side in sides.items()} == {
        "function": (4, 4, 4), "fresh": (4, 4, 4), "command": (4, 4, 4)}
    lines = figures_text(sides, trials=2, reports=2)
    assert lines[0] == "2 trials x 2 reports each, FIFO, random search, 1 CPU a trial (2 at once)"
    assert lines[1].startswith("function trials (tune.report)") and lines[1].endswith("(4 rows)")
    assert lines[2].startswith("class trials, a fresh actor each") and lines[2].endswith("(4 rows)")
    assert lines[3].startswith("command trials (a script's lines)") and lines[3].endswith("(4 rows)")
    assert lines[4].startswith("ratio command / function: wall ")
    assert lines[5].startswith("ratio command / fresh-actor class: wall ")
    assert lines[6].startswith("a command row's recorded time is when its line was read: after the script's own "
                               "clock by p50 ")
