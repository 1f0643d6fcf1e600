"""A sweep whose GPUs were logical (``cluster.num_gpus`` on a machine whose CUDA saw fewer) says so wherever its
GPU-hours are shown: `hpo ls`, the reports' cost, the dashboard's cost card. The engine's side (the warning line,
the record) is tested in ``tests/search_tests/test_cluster_env.py``."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from store_rows import fill_sweep

from hpo.results import Store, export_report, sweep_cost
from hpo.results.report.sections import cost_text

from .conftest import dashboard_client

SPEC = """\
name: fake-gpus
trainable: tests.fake:train
metric: loss
mode: min
search: {algorithm: random, num_samples: 1}
scheduler: {type: fifo}
resources: {cpu: 1, gpu: 0.5}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


def test_logical_gpu_hours_are_said_in_ls_reports_and_the_dashboard(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "runs")
    store.start_sweep(name="real", spec_yaml=None, spec_hash=None, metric="loss", mode="min", gpu_kind="cuda")
    assert store.get_sweep("real").gpu_kind == "cuda"
    fill_sweep(store, "fake-gpus", SPEC, {"a": ({"x": 0.1}, [0.5, 0.4], "complete")}, status="running")
    assert store.get_sweep("fake-gpus").gpu_kind is None
    store.start_sweep(name="fake-gpus", spec_yaml=None, spec_hash=None, metric="loss", mode="min", resumed=True,
                      gpu_kind="logical")  # as a resume on a machine without GPUs records it
    store.finish_sweep("fake-gpus", "finished")
    sweep = store.get_sweep("fake-gpus")
    assert sweep.gpu_kind == "logical" and sweep.to_dict()["gpu_kind"] == "logical"
    cost = sweep_cost(sweep, store.trials("fake-gpus"), yaml.safe_load(SPEC))
    assert cost.gpu_note == " (logical)" and sweep_cost(store.get_sweep("real"), []).gpu_note == ""

    shown = cost_text(cost.cpu_hours, cost.gpu_hours, gpu_kind=cost.gpu_kind)
    assert shown.endswith(" GPU-hours (logical: cluster.num_gpus declared GPUs CUDA did not see; no trial ran on "
                          "a GPU)"), shown
    assert f"<th>Cost</th><td>{shown}</td>" in export_report("fake-gpus", fmt="html", store=store).read_text()
    md = shown.replace("_", "\\_")  # markdown escapes it
    assert f"| Cost | {md} |" in export_report("fake-gpus", fmt="md", store=store).read_text()
    page = dashboard_client(store, min_rebuild_s=0.0).get("/sweeps/fake-gpus").text
    assert " GPU-h (logical)</div>" in page

    from hpo.search.cli.main import cli

    listed = CliRunner().invoke(cli, ["ls", "--home", str(store.home)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "fake-gpus" in line)
    assert row.rstrip(" │|").endswith(" (logical)"), listed.output  # the GPU-h cell, the table's last
    store.close()
