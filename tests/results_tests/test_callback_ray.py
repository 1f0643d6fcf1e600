"""StoreCallback on a real (small) Ray Tune run: ASHA stops some trials early, one trial raises.

Then every report format is exported from what the real run stored.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hpo.results import Store, StoreCallback, export_report
from hpo.results.store.schema import results_table

MAX_T = 6
SPEC = f"""\
name: ray-small
trainable: tests:train
metric: score
mode: max
search: {{algorithm: grid, num_samples: 1}}
scheduler: {{type: asha, max_t: {MAX_T}, grace_period: 1, reduction_factor: 2}}
resources: {{cpu: 1, gpu: 0}}
params:
  x: {{type: grid, values: [0.9, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1, -1.0]}}
  tag: {{type: choice, values: ["<script>alert(1)</script>"]}}
"""


def _train(config: dict[str, Any]) -> None:
    from ray import tune

    if config["x"] < 0:
        raise ValueError("boom: x must be positive <b>")
    for step in range(1, MAX_T + 1):
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "state.txt").write_text(str(step))
            tune.report({"score": config["x"] * step, "loss": 1.0 / step},
                        checkpoint=tune.Checkpoint.from_directory(tmp))


@pytest.fixture(scope="module")
def ray_store(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    import ray.cloudpickle
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    # Workers cannot import this test module: ship _train by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    home = tmp_path_factory.mktemp("ray-home")
    store = Store.open(home=home)
    store.start_sweep(name="ray-small", spec_yaml=SPEC, spec_hash="0" * 16, metric="score", mode="max",
                      experiment_path=str(home / "ray" / "ray-small"), max_t=MAX_T)
    # The node lookup the engine hands the store (Ray's actor table, behind hpo's compat layer).
    from hpo.search.ray_compat.cluster import trial_node_id

    callback = StoreCallback(store, sweep="ray-small", metric="score", mode="max", max_t=MAX_T,
                             node_of=trial_node_id)
    # Best first, so ASHA's rungs cut the later ones. Two at a time (the 2 CPUs), reusing the 2 actors
    # (as hpo's sweeps do) instead of starting one per trial (issue 21).
    values = [0.9, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1, -1.0]
    tuner = tune.Tuner(
        tune.with_resources(_train, {"cpu": 1}),
        param_space={"x": tune.grid_search(values), "tag": "<script>alert(1)</script>"},
        tune_config=tune.TuneConfig(
            metric="score", mode="max", reuse_actors=True,
            scheduler=ASHAScheduler(max_t=MAX_T, grace_period=1, reduction_factor=2)),
        run_config=tune.RunConfig(name="ray-small", storage_path=str(home / "ray"), callbacks=[callback],
                                  verbose=0),
    )
    tuner.fit()
    store.finish_sweep("ray-small", "finished")
    yield store
    store.close()


@pytest.mark.integration
def test_real_run_lands_every_trial_with_its_status(ray_store: Store) -> None:
    trials = {t.config["x"]: t for t in ray_store.trials("ray-small")}
    assert sorted(trials) == sorted([0.9, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1, -1.0])
    counts = ray_store.counts("ray-small")
    assert counts["error"] == 1 and counts["running"] == 0
    assert counts["completed"] >= 1 and counts["stopped_early"] >= 1
    assert counts["completed"] + counts["stopped_early"] == 7
    for trial in trials.values():
        if trial.status == "completed":
            assert trial.iterations == MAX_T
        if trial.status == "stopped_early":
            assert 1 <= trial.iterations < MAX_T
    assert trials[0.9].status == "completed"
    import ray

    # Every trial that reported is placed: the IP from its result, the node id from Ray's actor table
    # (through the node_of lookup the callback was handed).
    here = {"ip": ray.util.get_node_ip_address(), "id": ray.get_runtime_context().get_node_id()}
    assert all(t.node_info == here for x, t in trials.items() if x > 0)


@pytest.mark.integration
def test_real_run_error_text_and_checkpoints(ray_store: Store) -> None:
    errored = ray_store.trials("ray-small", status="error")[0]
    assert "ValueError: boom: x must be positive <b>" in errored.error
    assert errored.iterations == 0 and errored.ended is not None
    for trial in ray_store.trials("ray-small", status="completed"):
        assert trial.checkpoint_path and Path(trial.checkpoint_path).name.startswith("checkpoint_")


@pytest.mark.integration
def test_real_run_results_are_whole_and_unique(ray_store: Store) -> None:
    trials = ray_store.trials("ray-small")
    with ray_store.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(results_table)).scalar()
    assert stored == sum(t.iterations for t in trials)
    best = ray_store.best("ray-small")
    assert best is not None and best.config["x"] == 0.9
    assert best.last_metric == pytest.approx(0.9 * MAX_T) and best.best_iteration == MAX_T
    history = ray_store.history(best.trial_id)
    assert list(history["iteration"]) == list(range(1, MAX_T + 1))
    assert history["score"].tolist() == pytest.approx([0.9 * s for s in range(1, MAX_T + 1)])
    assert "hostname" not in history.columns and "config" not in history.columns


@pytest.mark.integration
def test_reports_from_the_real_run(ray_store: Store, tmp_path: Path) -> None:
    best = ray_store.best("ray-small")
    assert best is not None
    html = export_report("ray-small", fmt="html", path=tmp_path / "r.html", store=ray_store).read_text()
    assert f"score = {best.last_metric:.6g}" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "ValueError: boom: x must be positive &lt;b&gt;" in html
    doc = json.loads(export_report("ray-small", fmt="json", path=tmp_path / "r.json", store=ray_store).read_text())
    assert doc["best"]["trial_id"] == best.trial_id and len(doc["trials"]) == 8
    csv_text = export_report("ray-small", fmt="csv", path=tmp_path / "r.csv", store=ray_store).read_text()
    assert len(csv_text.strip().splitlines()) == 1 + 8
    md = export_report("ray-small", fmt="md", path=tmp_path / "r.md", store=ray_store).read_text()
    assert "](r.curves.svg)" in md and (tmp_path / "r.curves.svg").exists()
