"""run_sweep end to end on the session's real local Ray (2 CPUs, 2 logical GPUs)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ray import tune

from hpo.search import SweepExistsError, run_sweep

pytestmark = pytest.mark.integration

OPTIMUM_X = 0.3


@pytest.mark.parametrize("algorithm", ["hyperopt", "random"])
def test_searcher_with_asha_finds_the_optimum_and_stops_some_early(
    ray_session: None, tmp_home: Path, make_spec, algorithm: str
) -> None:
    spec = make_spec(name=f"quad-{algorithm}", search={"algorithm": algorithm, "num_samples": 10, "seed": 1})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    assert sum(outcome.counts.values()) == 10
    assert outcome.counts["error"] == 0
    assert outcome.counts["stopped_early"] >= 1  # ASHA cut some trials short
    assert outcome.best is not None
    assert abs(outcome.best.config["x"] - OPTIMUM_X) < 0.3
    assert outcome.best.best_metric == pytest.approx((outcome.best.config["x"] - OPTIMUM_X) ** 2 + 1 / 8)
    assert outcome.experiment_path == str(tmp_home / "ray" / spec.name)
    assert outcome.store_url == f"sqlite:///{tmp_home / 'store.sqlite'}"
    # TensorBoard event files land in the trial directories.
    assert list(Path(outcome.experiment_path).glob("*/events.out.tfevents.*"))


def test_grid_runs_exactly_the_product(ray_session: None, tmp_home: Path, make_spec) -> None:
    spec = make_spec(
        name="quad-grid",
        search={"algorithm": "grid", "num_samples": 1},
        params={"x": {"type": "grid", "values": [-0.5, 0.3, 0.9]}, "y": {"type": "grid", "values": [1, 2]}},
    )
    outcome = run_sweep(spec, progress="none")
    from hpo.results import Store

    trials = Store.open().trials(spec.name)
    assert len(trials) == 6
    assert sorted((t.config["x"], t.config["y"]) for t in trials) == [(x, y) for x in (-0.5, 0.3, 0.9) for y in (1, 2)]
    assert outcome.best.config["x"] == 0.3
    import os

    import ray

    record = Store.open().get_sweep(spec.name)  # the driver recorded itself; every trial its node
    assert (record.driver_pid, record.status, record.shown_status) == (os.getpid(), "finished", "finished")
    assert {t.node_info["id"] for t in trials if t.node_info} == {ray.get_runtime_context().get_node_id()}


def plain_tune_trainable(config: dict[str, Any]) -> None:
    """A user's plain Ray Tune function trainable: tune.report + Checkpoint, nothing from hpo."""
    import tempfile

    for step in range(1, 6):  # past max_t (3): the sweep's cap must stop it, even under FIFO
        with tempfile.TemporaryDirectory() as d:
            Path(d, "step").write_text(str(step))
            tune.report({"score": config["x"] * step}, checkpoint=tune.Checkpoint.from_directory(d))


def test_a_plain_ray_tune_trainable_runs_unchanged(ray_session: None, tmp_home: Path, make_spec) -> None:
    spec = make_spec(
        name="plain",
        trainable="not.used:here",
        metric="score",
        mode="max",
        scheduler={"type": "fifo", "max_t": 3},
        search={"algorithm": "random", "num_samples": 3},
    )
    outcome = run_sweep(spec, trainable=plain_tune_trainable, progress="none")
    assert outcome.counts["completed"] == 3
    assert outcome.best.best_metric == pytest.approx(outcome.best.config["x"] * 3)
    ckpt = Path(outcome.best.checkpoint_path)
    assert (ckpt / "step").read_text() == "3" and outcome.best.iterations == 3
    assert ckpt.parent.name.endswith(f"_{outcome.best.trial_id}") and "=" not in ckpt.parent.name


def test_a_met_stop_criterion_is_completed_not_stopped_early(ray_session: None, tmp_home: Path, make_spec) -> None:
    # score >= -10 holds at the first report (x is in [-1, 1]): every trial ends by its own stop
    # criterion, under ASHA, and none of them is an early stop.
    spec = make_spec(name="stopcrit", trainable="not.used:here", metric="score", mode="max",
                     scheduler={"type": "asha", "max_t": 5, "grace_period": 1}, stop={"score": -10},
                     search={"algorithm": "random", "num_samples": 2})
    outcome = run_sweep(spec, trainable=plain_tune_trainable, progress="none")
    assert outcome.counts["completed"] == 2 and outcome.counts["stopped_early"] == 0
    assert outcome.best.iterations == 1


def test_a_trainable_from_a_module_only_the_driver_can_import(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    src = tmp_path / "user_code"
    (src / "mylab").mkdir(parents=True)
    (src / "mylab" / "__init__.py").write_text("")
    (src / "mylab" / "helpers.py").write_text("def shift(x):\n    return x + 1.0\n")
    (src / "mylab" / "train.py").write_text(
        textwrap.dedent(
            """
            from ray import tune
            from mylab.helpers import shift

            def run(config):
                tune.report({"loss": shift(config["x"]) ** 2})
            """
        )
    )
    monkeypatch.syspath_prepend(str(src))
    # The driver imports mylab from src: none from before, and none left for a later test (a docs page has its own).
    request.addfinalizer(lambda: [sys.modules.pop(m) for m in list(sys.modules) if m.partition(".")[0] == "mylab"])
    for name in [m for m in sys.modules if m.partition(".")[0] == "mylab"]:
        monkeypatch.delitem(sys.modules, name)
    spec = make_spec(
        name="usermod",
        trainable="mylab.train:run",
        scheduler={"type": "fifo", "max_t": 1},
        search={"num_samples": 2},
    )
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    assert outcome.counts["completed"] == 2
    assert outcome.best.best_metric == pytest.approx((outcome.best.config["x"] + 1.0) ** 2)


def test_half_gpu_trials_share_one_logical_gpu(ray_session: None, tmp_home: Path, tmp_path: Path, make_spec) -> None:
    out = tmp_path / "probes"
    out.mkdir()
    spec = make_spec(
        name="gpu-pack",
        trainable="toy:gpu_probe",
        resources={"cpu": 0.5, "gpu": 0.5},
        scheduler={"type": "fifo", "max_t": 1},
        search={"num_samples": 4},
        fixed={"out_dir": str(out), "peers": 4, "sleep": 0.2},
    )
    outcome = run_sweep(spec, progress="none")
    assert outcome.counts["completed"] == 4
    probes = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert len(probes) == 4
    # 4 trials of 0.5 GPU on 2 GPUs ran at once, so each GPU held two of them ...
    assert max(p["began"] for p in probes) < min(p["ended"] for p in probes)
    ids = [p["gpu_ids"] for p in probes]
    assert all(len(i) == 1 for i in ids)
    assert sorted(i[0] for i in ids) == ["0", "0", "1", "1"]
    # ... and each trial saw only its own GPU.
    assert all(p["cuda_visible_devices"] == p["gpu_ids"][0] for p in probes)


def test_a_failing_trial_is_retried_from_its_checkpoint(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec
) -> None:
    spec = make_spec(
        name="flaky",
        trainable="toy:checkpointed",
        scheduler={"type": "fifo", "max_t": 4},
        search={"num_samples": 1},
        failures={"max_retries": 1},
        fixed={"max_iter": 4, "fail_at": 2, "out_dir": str(tmp_path)},
    )
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    assert outcome.counts["completed"] == 1
    # Iterations 1-2 ran, the trial failed, and the retry went on from the checkpoint at 2.
    steps = [int(line.split()[1]) for line in (tmp_path / "iterations.txt").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert outcome.best.iterations == 4


def test_a_trial_that_hangs_is_ended_retried_from_its_checkpoint_and_recorded(
    ray_session: None, tmp_home: Path, tmp_path: Path, make_spec
) -> None:
    """failures.report_timeout under ASHA: the trial that blocks after its second report is ended each
    time (its process and its child gone), retried once from its checkpoint, then recorded as timed out;
    the other trial runs to the end (equal losses: ASHA stops neither)."""
    from toy_limits import hung_runs

    from hpo.results import Store

    spec = make_spec(name="hangs-asha", trainable="toy_limits:hangs_after_two", search={"num_samples": 2},
                     scheduler={"type": "asha", "max_t": 6, "grace_period": 2, "reduction_factor": 2},
                     failures={"max_retries": 1, "report_timeout": "4s"},  # a slow restart stays well within
                     fixed={"max_iter": 6, "out_dir": str(tmp_path)})
    outcome = run_sweep(spec, progress="none")
    hung = (tmp_path / "hang.claim").read_text()
    trials = {t.trial_id: t for t in Store.open().trials("hangs-asha")}
    assert trials[hung].status == "error"
    assert trials[hung].error == "timed out: no result for 4 s after iteration 4 (failures.report_timeout)"
    assert trials[hung].iterations == 4
    assert [(t.status, t.iterations) for i, t in trials.items() if i != hung] == [("completed", 6)]
    # It hung at 2, was ended, restarted from its checkpoint at 2, hung at 4 and was ended again.
    files, alive = hung_runs(tmp_path)
    assert files == [f"pids-{hung}-2.txt", f"pids-{hung}-4.txt"]
    assert alive == []
    assert (outcome.status, outcome.counts["error"], outcome.counts["completed"]) == ("finished", 1, 1)


def test_every_trial_errored_fails_the_sweep_with_the_first_error(ray_session: None, tmp_home: Path, make_spec) -> None:
    spec = make_spec(
        name="broken",
        trainable="toy:checkpointed",
        scheduler={"type": "fifo", "max_t": 2},
        search={"num_samples": 2},
        fixed={"always_fail": True},
    )
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert outcome.counts["error"] == 2
    assert "RuntimeError: boom in trial" in outcome.first_error
    assert ", in checkpointed" in outcome.first_error  # the traceback is kept
    from hpo.results import Store

    assert Store.open().get_sweep("broken").status == "failed"


def test_a_name_already_in_the_store_is_refused(ray_session: None, tmp_home: Path, make_spec) -> None:
    spec = make_spec(name="twice", scheduler={"type": "fifo", "max_t": 1}, search={"num_samples": 1})
    run_sweep(spec, progress="none")
    with pytest.raises(SweepExistsError) as err:
        run_sweep(spec, progress="none")
    assert str(err.value) == "sweep 'twice' already finished in the store; choose another name with --name NEW_NAME"


# A user's project holding modules named as hpo's packages were before hpo became one package.
SHADOWS = ("search.py", "spaces.py", "results/__init__.py", "configs/__init__.py", "trainables.py")

PROJECT_TRAINABLE = '''\
"""The project's trainable: records what its Ray worker imported."""

import json
import os
import sys

from ray import tune


def fit(config):
    import hpo.results
    import hpo.search
    import hpo.spaces
    import hpo.trainables

    record = {{
        "sys_path": sys.path,
        "hpo": {{m.__name__: m.__file__ for m in (hpo.search, hpo.spaces, hpo.results, hpo.trainables)}},
        "top_level": sorted(n for n in ("search", "spaces", "results", "configs", "trainables") if n in sys.modules),
    }}
    name = f"{{config['run']}}-{{tune.get_context().get_trial_id()}}.json"
    with open(os.path.join({records!r}, name), "w") as out:
        json.dump(record, out)
    tune.report({{"loss": config["x"] ** 2}})
'''


@pytest.mark.slow(seconds=60)
def test_a_project_with_its_own_search_spaces_results_configs_trainables_runs_hpos(
    ray_session: None, tmp_home: Path, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    import ray
    import yaml
    from harness import run_hpo

    import hpo.results
    import hpo.search
    import hpo.spaces
    import hpo.trainables

    project, markers, records = tmp_path / "proj", tmp_path / "imported", tmp_path / "records"
    for folder in (project / "results", project / "configs", markers, records):
        folder.mkdir(parents=True)
    for shadow in SHADOWS:  # each says so, if anything imports it, and fails the import
        name = shadow.removesuffix(".py").removesuffix("/__init__")
        (project / shadow).write_text(f'"""The project\'s own {name}: hpo must never import it."""\n\n'
                                      f"open({str(markers / name)!r}, 'a').write('imported\\n')\n"
                                      f"raise ImportError(\"the project's own {name} was imported\")\n")
    (project / "proj_train.py").write_text(PROJECT_TRAINABLE.format(records=str(records)))
    (project / "spec.yaml").write_text(yaml.safe_dump({
        "name": "shadow-cli", "trainable": "proj_train:fit", "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 2, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 1},
        "resources": {"cpu": 1, "gpu": 0}, "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "fixed": {"run": "cli"}, "cluster": {"address": ray.get_runtime_context().gcs_address}}))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the project folder and hpo, as installed

    # `hpo sweep` run from the folder (its `python -c` puts the folder first on the driver's path), and the
    # Python API likewise; both drivers join the session's Ray, whose workers for them get the folder too.
    done = run_hpo("sweep", "spec.yaml", "-q", cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("sweep shadow-cli finished: 2 trial(s) (completed 2)\n"), done.stdout
    api = ("from hpo import load_spec, run_sweep\n"
           "outcome = run_sweep(load_spec('spec.yaml', overrides=['name=shadow-api', 'fixed.run=api']),"
           " progress='none')\n"
           "print(outcome.status, outcome.counts['completed'])\n")
    done = subprocess.run([sys.executable, "-c", api], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert (done.returncode, done.stdout) == (0, "finished 2\n"), done.stdout + done.stderr

    assert sorted(p.name for p in markers.iterdir()) == []  # no process imported the project's shadows
    seen = [json.loads(p.read_text()) for p in sorted(records.glob("*.json"))]
    assert sorted(p.name.split("-")[0] for p in records.glob("*.json")) == ["api", "api", "cli", "cli"]
    ours = {m.__name__: m.__file__ for m in (hpo.search, hpo.spaces, hpo.results, hpo.trainables)}
    for record in seen:
        # The folder was on the worker's path, so `import search` there would have found the project's ...
        assert project.resolve() in {Path(p).resolve() for p in record["sys_path"] if p}
        # ... yet the worker imported hpo's own modules and none of the old top-level names.
        assert (record["hpo"], record["top_level"]) == (ours, [])
