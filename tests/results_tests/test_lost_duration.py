"""A lost sweep's time stops at its last heartbeat: its duration (and the cost of the trials it left marked
running) is the same in the record, `hpo ls`, the reports and the dashboard, however long ago it was lost."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from store_rows import fill_sweep

from hpo.results import Store, export_report, sweep_cost
from hpo.results.store.records import HEARTBEAT_STALE_S, SweepRecord

from .conftest import dashboard_client

SPEC = """\
name: lost
trainable: tests.fake:train
metric: loss
mode: min
search: {algorithm: random, num_samples: 2}
scheduler: {type: fifo}
resources: {cpu: 1, gpu: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


def _sweep(status: str, *, started: datetime, finished: datetime | None, heartbeat: datetime | None) -> SweepRecord:
    return SweepRecord(name="s", status=status, spec_yaml=None, spec_hash=None, metric="m", mode="min",
                       started=started, finished=finished, versions={}, git_commit=None, experiment_path=None,
                       counts={}, heartbeat=heartbeat)


def test_the_end_of_a_sweeps_clock() -> None:
    now = datetime.now(tz=UTC)
    started = now - timedelta(hours=1)
    beat = started + timedelta(seconds=45)  # killed 45 s in, an hour ago
    lost = _sweep("running", started=started, finished=None, heartbeat=beat)
    assert lost.shown_status == "lost" and lost.ended_at == beat and lost.duration_s == pytest.approx(45)
    # Marked interrupted long after its driver went silent (or never given a finish time): the heartbeat.
    late = _sweep("interrupted", started=started, finished=now, heartbeat=beat)
    assert late.duration_s == pytest.approx(45)
    assert _sweep("interrupted", started=started, finished=None, heartbeat=beat).duration_s == pytest.approx(45)
    # Interrupted by its own driver (Ctrl-C, `hpo stop`): a beat or two before the finish, which counts.
    stopped = _sweep("interrupted", started=started, finished=beat + timedelta(seconds=8), heartbeat=beat)
    assert stopped.duration_s == pytest.approx(53)
    finished = _sweep("finished", started=started, finished=started + timedelta(seconds=100), heartbeat=beat)
    assert finished.duration_s == pytest.approx(100)
    alive = _sweep("running", started=started, finished=None, heartbeat=now)
    assert alive.ended_at is None and alive.duration_s is not None and alive.duration_s >= 3600  # to now
    assert HEARTBEAT_STALE_S < 3600 - 45


@pytest.fixture
def lost_store(tmp_path: Path) -> Iterator[Store]:
    """A sweep whose driver died 10 minutes after it started, an hour ago: one trial ended, one left running."""
    store = Store.open(home=tmp_path / "runs")
    fill_sweep(store, "lost", SPEC, {"a": ({"x": 0.1}, [0.5, 0.4], "complete"), "b": ({"x": 0.9}, [0.7], "running")},
               status="running")
    store.set_driver("lost", host="gone", pid=1)
    now = time.time()
    started = now - 3600
    with store.engine.begin() as conn:  # the rows as a driver killed long ago left them
        conn.execute(text("UPDATE sweeps SET started = :s, heartbeat = :h"), {"s": started, "h": started + 600})
        conn.execute(text("UPDATE trials SET started = :s, ended = :e WHERE trial_id = 'a'"),
                     {"s": started + 10, "e": started + 190})
        conn.execute(text("UPDATE trials SET started = :s WHERE trial_id = 'b'"), {"s": started + 60})
    yield store
    store.close()


def test_a_lost_sweeps_duration_and_cost_stop_at_its_last_heartbeat_everywhere(lost_store: Store) -> None:
    sweep = lost_store.get_sweep("lost")
    assert sweep.shown_status == "lost" and sweep.duration_s == pytest.approx(600)
    cost = sweep_cost(sweep, lost_store.trials("lost"), {"resources": {"cpu": 1}})
    assert cost.cpu_hours == pytest.approx((180 + 540) / 3600)  # a: 180 s; b: from its start to the heartbeat

    html = export_report("lost", fmt="html", store=lost_store).read_text()
    assert '<span class="badge lost">lost</span>' in html and "<th>Status</th><td>lost</td>" in html
    assert "<th>Duration</th><td>10m 00s</td>" in html and "<th>Cost</th><td>0.2 CPU-hours, 0 GPU-hours</td>" in html
    markdown = export_report("lost", fmt="md", store=lost_store).read_text()
    assert markdown.startswith("# Sweep lost (lost)\n") and "| Duration | 10m 00s |" in markdown
    doc = json.loads(export_report("lost", fmt="json", store=lost_store).read_text())
    assert doc["sweep"]["duration_s"] == pytest.approx(600) and doc["sweep"]["driver"]["lost"] is True
    assert doc["sweep"]["status"] == "running"  # the store's status; driver.lost says it is lost
    assert doc["cost"]["cpu_hours"] == pytest.approx(0.2)
    assert {t["trial_id"]: t["cpu_hours"] for t in doc["trials"]} == {"a": pytest.approx(0.05),
                                                                      "b": pytest.approx(0.15)}

    client = dashboard_client(lost_store, min_rebuild_s=0.0)
    page = client.get("/sweeps/lost").text
    assert "duration 10m 00s" in page and '<span class="badge lost" id="sweep-status">lost</span>' in page
    assert '<span class="badge lost">lost</span>' in client.get("/").text
    listed = client.get("/api/sweeps").json()["sweeps"]
    assert [(s["status"], s["lost"]) for s in listed] == [("running", True)]
    api = client.get("/api/sweeps/lost").json()
    assert api["sweep"]["duration_s"] == pytest.approx(600) and api["cost"]["cpu_hours"] == pytest.approx(0.2)

    from hpo.search.cli.main import cli

    shown = CliRunner().invoke(cli, ["ls", "--home", str(lost_store.home)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert shown.exit_code == 0, shown.output
    # The sweep's row: name, status, ..., duration, CPU-h (whatever the table's borders).
    row = next(line for line in shown.output.splitlines() if "10m 00s" in line)
    assert re.search(r"\blost\b.*\blost\b.*\b10m 00s\b.*\b0\.2\b", row), shown.output


def test_hpo_ls_counts_the_cost_of_a_replaced_trial_as_the_report_does(lost_store: Store) -> None:
    """A trial replaced by a later run (resume --restart-errored) is not one of the sweep's trials, but it ran."""
    from hpo.search.cli.main import cli

    lost_store.mark_replaced("lost", {"a": "a2"})
    doc = json.loads(export_report("lost", fmt="json", store=lost_store).read_text())
    assert doc["cost"]["cpu_hours"] == pytest.approx(0.2)  # a's 180 s still cost
    shown = CliRunner().invoke(cli, ["ls", "--home", str(lost_store.home)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    row = next(line for line in shown.output.splitlines() if "10m 00s" in line)
    assert re.search(r"\b10m 00s\b\W+0\.2\b", row), shown.output
