"""The dashboard's trial pages and their JSON, the links that lead there, PBT lineage, and the contour's
params chosen in the URL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hpo.results import LINEAGE_KEY, Store, StoreCallback

from .conftest import XSS, FakeTrial, dashboard_client


@pytest.fixture
def client(demo: Store) -> TestClient:
    return dashboard_client(demo, min_rebuild_s=0.0)


def test_every_trial_id_links_to_its_page(client: TestClient) -> None:
    page = client.get("/sweeps/demo").text
    linked = set(re.findall(r'href="/sweeps/demo/trials/([^"]+)"', page))
    assert linked == {"t0", "t1", "t2", "t3", "t4", "t5"}


def test_a_trial_page_says_why_it_stopped_and_how_to_rerun_it(client: TestClient) -> None:
    doc = client.get("/api/sweeps/demo/trials/t3").json()
    assert (doc["sweep"], doc["trial"]["trial_id"], doc["rank"], doc["stop_reason"], doc["retries"]) == (
        "demo", "t3", 5, "stopped early by the scheduler at iteration 2 (ASHA rung 2 of 2)", 0)
    assert [row["val_loss"] for row in doc["history"]] == [1.5, 1.4]
    assert doc["resources"]["gpu"] == 0.5 and doc["cost"]["gpu_hours"] > 0
    assert doc["reproduce"].startswith("hpo sweep spec.yaml --name demo-t3 --set search.algorithm=random")
    page = client.get("/sweeps/demo/trials/t3").text
    assert '<code id="trial-id">t3</code>' in page and "stopped early by the scheduler at iteration 2" in page
    assert '<figure id="plot-trial"><svg' in page and "2 results as a table" in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # t3's tag is the XSS text

    errored = client.get("/sweeps/demo/trials/t4").text
    assert "errored at iteration 1" in errored and '<pre id="error">Failure # 1' in errored
    best = client.get("/api/sweeps/demo/trials/t0").json()
    assert best["stop_reason"] == "completed 4 iterations of 4" and best["trial"]["checkpoint_path"].endswith("t0")
    assert client.get("/api/sweeps/demo/trials/t5").json()["stop_reason"] == "running: 2 iterations so far"


def test_unknown_trials_and_sweeps_are_404(client: TestClient) -> None:
    missing = client.get("/sweeps/demo/trials/nope")
    assert missing.status_code == 404 and "no trial &#39;nope&#39; in sweep &#39;demo&#39;" in missing.text
    assert client.get("/api/sweeps/demo/trials/nope").json() == {"error": "no trial 'nope' in sweep 'demo'"}
    assert client.get("/api/sweeps/none/trials/t0").status_code == 404


def test_pbt_lineage_links_both_ways(store: Store, tmp_path: Path) -> None:
    store.start_sweep(name="pbt", spec_yaml=None, spec_hash=None, metric="loss", mode="min", max_t=3)
    callback = StoreCallback(store, sweep="pbt", metric="loss", mode="min", max_t=3)
    callback.setup()
    donor, taker = FakeTrial("d0", {"lr": 0.1}), FakeTrial("k1", {"lr": 0.2})
    both = [donor, taker]
    for trial in both:
        callback.on_trial_start(0, both, trial)
    for step in (1, 2, 3):
        for trial in both:
            result = {"training_iteration": step, "time_total_s": step, "loss": 1.0 / step, "done": False}
            if trial is taker and step == 3:
                result[LINEAGE_KEY] = {"from_trial": "d0", "from_step": 2, "at_step": 2}
            callback.on_trial_result(0, both, trial, result)
    for trial in both:
        callback.on_trial_complete(0, both, trial)
    callback.on_experiment_end(both)
    client = dashboard_client(store, min_rebuild_s=0.0)
    taken = client.get("/api/sweeps/pbt/trials/k1").json()["lineage"]
    assert [(e["from_trial"], e["iteration"]) for e in taken["parents"]] == [("d0", 3)] and taken["children"] == []
    page = client.get("/sweeps/pbt/trials/k1").text
    assert 'took <a href="/sweeps/pbt/trials/d0"><code>d0</code></a>\'s checkpoint (its step 2) at iteration 3' in page
    given = client.get("/sweeps/pbt/trials/d0").text
    assert '<a href="/sweeps/pbt/trials/k1"><code>k1</code></a> took its checkpoint at iteration 3' in given


def test_a_command_sweep_shows_its_command_on_the_trial_page_and_in_the_report(
    store: Store, tmp_path: Path, demo_filler: Any
) -> None:
    import yaml

    from hpo.results import export_report
    from hpo.spaces import build_plan, parse_spec

    from .conftest import SPEC_YAML

    command = "python train.py --epochs {epochs} --tag '<b>x</b>'"
    spec_yaml = SPEC_YAML.replace("name: demo", "name: cmd").replace(
        "trainable: tests.fake:train", f"trainable:\n  command: {json.dumps(command)}\n  args: flags")
    plan = build_plan(parse_spec(yaml.safe_load(spec_yaml)))
    store.start_sweep(name="cmd", spec_yaml=spec_yaml, spec_hash="h" * 16, metric="val_loss", mode="min", max_t=4,
                      experiment_path=str(tmp_path / "ray" / "cmd"), plan=plan.to_dict())
    demo_filler(store, tmp_path, name="cmd", start=False)
    client = dashboard_client(store, min_rebuild_s=0.0)
    assert client.get("/sweeps/cmd").status_code == 200
    assert client.get("/api/sweeps/cmd/trials/t0").json()["trainable"] == f"command: {command}"
    page = client.get("/sweeps/cmd/trials/t0").text
    assert ("<code>command: python train.py --epochs {epochs} --tag &#39;&lt;b&gt;x&lt;/b&gt;&#39;</code>"
            in page)
    text = Path(export_report("cmd", fmt="md", path=tmp_path / "cmd.md", store=store)).read_text()
    assert "| Trainable | command: python train.py --epochs {epochs} --tag '&lt;b&gt;x&lt;/b&gt;' |" in text
