"""Sweeps as Ray Jobs on a real 2-node Ray cluster on loopback, results in PostgreSQL, checkpoints in S3.

Components: ``ray start --head`` (1 CPU, job server) + ``ray start --address`` (2 CPUs) on 127.0.0.2/.3,
moto's S3 server on 127.0.0.1, and the session's PostgreSQL (``HPO_TEST_PG_URL``: the private server
``tests/conftest.py`` starts, or CI's). A component that does not start FAILS the test, saying which in one
line: a regression in the cluster, the job agent or S3 must not pass as a skip. The one skip left is
PostgreSQL's server programs missing from the machine (a system package, not a pip one), said in its
reason and in the run's last lines. Everything is stopped by the pids this module started. The cluster wants
Ray's token; the hpo commands here find it themselves (``RAY_AUTH_TOKEN_PATH``, no ``RAY_AUTH_MODE``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import run_hpo, wait_for
from ray_cluster import Cluster, two_nodes
from s3_server import BUCKET, free_port, moto_s3, s3_env

from hpo.results import Store, local_checkpoint

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
PG_ENV = "HPO_TEST_PG_URL"

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=30)]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL in this session ({PG_ENV} empty, or PostgreSQL's server programs are not "
                    "installed: the run's last line says which); the cluster tests need a store every node reaches")
    from sqlalchemy import create_engine

    from hpo.results.store.schema import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    yield url
    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def world(pg_url: str) -> Iterator[dict[str, Any]]:
    """The S3 server, then the cluster (its nodes inherit the S3 variables, as real nodes carry credentials)."""
    tmp = Path(tempfile.mkdtemp(prefix="hpo-rc-", dir="/tmp"))  # short: Ray's socket paths must stay short
    with moto_s3() as endpoint:
        base = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "HPO_STORE", "HPO_HOME", "HPO_STORAGE")}
        base.update(s3_env(endpoint), PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), HPO_OFFLINE="1")
        try:
            with two_nodes(tmp, base, gcs_port=free_port(), jobs_port=free_port()) as cluster:
                yield {"cluster": cluster, "endpoint": endpoint, "pg": pg_url, "tmp": tmp}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _env(world: dict[str, Any], home: Path) -> dict[str, str]:
    """What an hpo command run against the cluster sees: its token at hand (``RAY_AUTH_TOKEN_PATH``) but no
    ``RAY_AUTH_MODE``: hpo finds out that the job server wants the token (issue 41)."""
    cluster: Cluster = world["cluster"]
    env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}
    return {**env, "HPO_STORE": world["pg"], "HPO_HOME": str(home)}


_NO_AGENT = "No available agent to submit job"


def _fail_without_job_agent(stderr: str) -> None:
    """A job agent that never came up fails the test in one line (not in a long assertion on stderr)."""
    if _NO_AGENT in stderr:
        pytest.fail("the test cluster's Ray job agent never came up (the job server answers 'No available agent "
                    "to submit job' past hpo's 60 s of retries)", pytrace=False)


def _hpo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = run_hpo(*args, env=env, timeout=300)
    if args[:1] == ("submit",):
        _fail_without_job_agent(done.stderr)
    return done


def _spec(tmp_path: Path, name: str, **over: Any) -> str:
    data = {"name": name, "trainable": "toy:checkpointed", "metric": "loss", "mode": "min",
            "search": {"algorithm": "random", "num_samples": 3, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 3},
            "resources": {"cpu": 1}, "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
            "fixed": {"max_iter": 3, "sleep": 2.0}, **over}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _wait(store: Store, name: str, *, until: tuple[str, ...], timeout: float = 300) -> Any:
    def reached() -> Any:
        record = store.find_sweep(name)
        return record if record is not None and record.status in until else None

    return wait_for(reached, timeout=timeout, every=1,
                    what=lambda: f"sweep {name} to reach {until} (last: {store.find_sweep(name)})")


@pytest.mark.slow(seconds=90)
def test_a_submitted_sweep_spans_both_nodes_stops_resumes_beside_the_cluster_guide_and_confirms(
        world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One submitted sweep through its whole life on the cluster, PostgreSQL and S3: its 3 trials run at
    once on both nodes, held at iteration 2; `hpo resume` is refused while it runs; `hpo stop` interrupts
    it; `hpo submit --resume` finishes it while docs/how-to/cluster.md's `needs=cluster` example runs
    beside it, as shown; each trial of both sweeps is recorded once, in its own experiment; then
    status, logs, the best checkpoint from the bucket, a refused re-submit, and a confirmation job.

    (One sweep for what three tests did with five: each Ray Job starts a driver and fresh workers on
    both nodes, the cost of this module; issue 21.)"""
    env = _env(world, tmp_path / "home")
    name = f"sub-{uuid.uuid4().hex[:6]}"
    storage = f"s3://{BUCKET}/cluster"
    gate = tmp_path / "gate"  # holds the trials at iteration 2 until the sweep was stopped
    # fixed.seed: `checkpointed` declares nothing, so the spec says it takes a seed (hpo confirm needs one).
    spec = _spec(tmp_path, name, fixed={"max_iter": 3, "sleep": 0.2, "seed": 0, "gate": str(gate), "hold_at": 2})
    done = _hpo("submit", spec, "--address", world["cluster"].jobs, "--storage", storage, env=env)
    assert done.returncode == 0, done.stderr
    first_job = done.stdout.strip()
    assert first_job.startswith(f"hpo-{name}-")
    store = Store.open(world["pg"], home=tmp_path / "home")

    def all_reported() -> list[Any]:
        trials = store.trials(name)
        return trials if len(trials) == 3 and all(t.iterations >= 1 and t.node_info for t in trials) else []

    held = wait_for(all_reported, timeout=120, every=1,
                    what=lambda: f"the 3 trials to report from their nodes (last: {store.trials(name)})")
    # 3 trials of 1 CPU at once on 3 CPUs: the head's one and the worker's two.
    assert {t.node_info["ip"] for t in held} == {"127.0.0.2", "127.0.0.3"}  # type: ignore[index]
    busy = _hpo("resume", name, env=env)
    assert busy.returncode == 2 and busy.stderr.startswith(f"hpo resume: sweep {name!r} is still running (pid ")
    stopped = _hpo("stop", name, env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"sweep {name}: interrupted\n"
    before = {t.trial_id: t.iterations for t in store.trials(name)}
    assert len(before) == 3 and all(i < 3 for i in before.values()), before
    gate.touch()
    resumed = _hpo("submit", name, "--resume", "--address", world["cluster"].jobs, env=env)
    assert resumed.returncode == 0, resumed.stderr
    job_id = resumed.stdout.strip()
    assert job_id.startswith(f"hpo-{name}-") and job_id != first_job

    _run_the_cluster_guide(world, tmp_path, env, monkeypatch)

    record = _wait(store, name, until=("finished", "failed", "interrupted"))
    assert (record.status, record.job_id, record.storage_path) == ("finished", job_id, storage)
    trials = store.trials(name)
    assert {t.trial_id for t in trials} == set(before) and all(t.status == "completed" for t in trials), trials
    # The guide's sweep: 2 trials of 1 epoch; this one: 3 trials of 3 iterations, stopped and resumed.
    for sweep, where, count, iterations in ((name, "cluster", 3, [1, 2, 3]), ("cluster-demo", "hpo", 2, [1])):
        ran = store.trials(sweep)
        assert len(ran) == count and len({t.trial_id for t in ran}) == count, (sweep, ran)
        for trial in ran:  # each trial's results recorded once, in its own sweep's experiment
            assert list(store.history(trial.trial_id, sweep=sweep)["iteration"]) == iterations, (sweep, trial)
            assert trial.checkpoint_path.startswith(f"s3://{BUCKET}/{where}/{sweep}/"), (sweep, trial)
    # The store says finished a moment before the driver process exits and its job SUCCEEDED.
    said: list[str] = []

    def succeeded() -> subprocess.CompletedProcess[str] | None:
        shown = _hpo("status", name, env=env)
        said[:] = [shown.stdout + shown.stderr]
        return shown if "SUCCEEDED" in shown.stdout else None

    status = wait_for(succeeded, timeout=60, every=2,
                      what=lambda: f"`hpo status {name}` to say its job SUCCEEDED (last: {said})")
    assert status.returncode == 0 and status.stdout.splitlines() == [
        f"sweep {name}: finished; job {job_id}: SUCCEEDED", "trials: 3 (completed 3)"]
    logs = _hpo("logs", name, env=env)
    assert f"sweep {name} finished: 3 trial(s)" in logs.stdout
    best = store.best(name)
    assert best is not None and best.checkpoint_path.startswith(f"{storage}/{name}/")
    for key, value in s3_env(world["endpoint"]).items():
        monkeypatch.setenv(key, value)
    with local_checkpoint(best.checkpoint_path) as local:  # restored from the bucket
        assert (local / "t").read_text() == "3"
    again = _hpo("submit", spec, "--address", world["cluster"].jobs, "--storage", storage, env=env)
    assert (again.returncode, again.stderr) == (
        2, f"hpo submit: sweep {name!r} already finished in the store; choose another name with --name NEW_NAME\n")

    # Its confirmation runs on the cluster the same way: a child sweep submitted as a Ray Job.
    confirmed = _hpo("confirm", name, "--top", "1", "--seeds", "2", "--address", world["cluster"].jobs, env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout.strip().startswith(f"hpo-{name}-confirm-")
    child = _wait(store, f"{name}-confirm", until=("finished", "failed", "interrupted"))
    assert (child.status, child.parent, child.storage_path) == ("finished", name, storage)
    assert sorted(t.config["seed"] for t in store.trials(child.name)) == [1, 2]
    shown = _hpo("best", name, "--confirmed", "--format", "json", env=env)
    assert json.loads(shown.stdout)["best"]["trial_id"] == best.trial_id  # the only config re-run


# A script run unchanged as each trial: it reads data beside it through HPO_SPEC_DIR (the job's working_dir
# on the trial's node) and says, as metrics, whether that is a copy shipped from --origin and whether the
# file .rayignore lists came along.
_CLUSTER_SCRIPT = """\
import argparse, json, os, sys, time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--origin", required=True)
args = parser.parse_args()
spec_dir = Path(os.environ["HPO_SPEC_DIR"])
offset = float((spec_dir / "data" / "offset.txt").read_text())
for step in (1, 2):
    time.sleep(1.0)
    print("hpo-report: " + json.dumps({
        "loss": args.x + offset + 1 / step,
        "moved": float(spec_dir != Path(args.origin) and Path(sys.argv[0]).parent == spec_dir),
        "ignored_shipped": float((spec_dir / "data" / "big.bin").exists())}), flush=True)
"""


@pytest.mark.slow(seconds=60)
def test_a_command_sweep_ships_its_spec_folder_to_each_node(world: dict[str, Any], tmp_path: Path) -> None:
    """`hpo submit` of a command trainable: the spec's folder (less what .rayignore lists) is the job's
    working_dir; the driver checks the script there, and each trial, on either node, runs it from its own
    node's copy, reading data beside it through HPO_SPEC_DIR."""
    env = _env(world, tmp_path / "home")
    name = f"cmd-{uuid.uuid4().hex[:6]}"
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "train.py").write_text(_CLUSTER_SCRIPT)
    (project / "data" / "offset.txt").write_text("10\n")
    (project / "data" / "big.bin").write_bytes(b"0" * 1024)
    (project / ".rayignore").write_text("data/big.bin\n")
    spec = project / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "name": name, "trainable": {"command": "python train.py"}, "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 3, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 2},
        "resources": {"cpu": 1}, "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "fixed": {"origin": str(project)}}))
    done = _hpo("submit", str(spec), "--address", world["cluster"].jobs, "--storage", f"s3://{BUCKET}/cmd", env=env)
    assert done.returncode == 0, done.stderr
    store = Store.open(world["pg"], home=tmp_path / "home")
    record = _wait(store, name, until=("finished", "failed", "interrupted"))
    trials = store.trials(name)
    assert record.status == "finished" and all(t.status == "completed" for t in trials), (record, trials)
    # 3 trials of 1 CPU at once on 3 CPUs: both nodes ran the script from their own copy of the folder.
    assert {t.node_info["ip"] for t in trials} == {"127.0.0.2", "127.0.0.3"}  # type: ignore[index]
    for trial in trials:
        history = store.history(trial.trial_id, sweep=name)
        assert list(history["iteration"]) == [1, 2], trial
        assert list(history["moved"]) == [1.0, 1.0] and list(history["ignored_shipped"]) == [0.0, 0.0], trial
        assert list(history["loss"]) == pytest.approx([trial.config["x"] + 11.0, trial.config["x"] + 10.5]), trial


def _run_the_cluster_guide(world: dict[str, Any], tmp_path: Path, env: dict[str, str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/how-to/cluster.md's `needs=cluster` example, as shown, on this module's cluster, PostgreSQL and S3."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "docs_tests"))
    import doc_examples as docs
    page = docs.blocks(ROOT / "docs" / "how-to" / "cluster.md")
    for block in page:
        if block.marks.get("file"):
            (tmp_path / block.marks["file"]).write_text(block.text)
    shown_blocks = [b for b in page if b.marks.get("needs") == "cluster"]
    assert shown_blocks, "the cluster guide lost its cluster example"
    for block in shown_blocks:
        for cmd, shown in docs._commands(block.text):
            real = (cmd.replace("http://HEAD:8265", world["cluster"].jobs)
                    .replace("s3://team-bucket", f"s3://{BUCKET}"))
            done = subprocess.run(["bash", "-c", real], cwd=tmp_path, env={**env, "PATH": f"{docs.BIN}:{env['PATH']}"},
                                  capture_output=True, text=True, timeout=300, check=False)
            if cmd.startswith("hpo submit"):
                _fail_without_job_agent(done.stderr)
            output = done.stdout + done.stderr
            assert done.returncode == docs._expected_exit(cmd), f"$ {cmd}\n{output}"
            if shown:
                assert docs.matches(shown, output.splitlines()), f"$ {cmd}\n--- shown:\n" + "\n".join(shown) \
                    + f"\n--- printed:\n{output}"


def test_unreachable_job_server_and_a_missing_or_wrong_token_are_one_line(world: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    env = _env(world, tmp_path / "home")
    dead = f"http://127.0.0.1:{free_port()}"
    done = _hpo("submit", _spec(tmp_path, "nowhere"), "--address", dead, env=env)
    assert (done.returncode, done.stderr) == (
        2, f"hpo submit: --address: cannot reach the Ray job server at {dead}: Connection refused; is the cluster "
           "up (`ray start --head --dashboard-host=0.0.0.0`) and is that its dashboard port (default 8265)?\n")
    # The job server wants Ray's token: none at hand (a HOME of the test's, never the user's), or the wrong one.
    jobs, nobody = world["cluster"].jobs, tmp_path / "nobody"
    nobody.mkdir()
    tokenless = {k: v for k, v in env.items() if k not in ("RAY_AUTH_TOKEN_PATH", "RAY_AUTH_TOKEN")}
    where = f"hpo submit: --address: the Ray job server at {jobs}"
    fix = "set RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on its head prints it)"
    none = _hpo("submit", _spec(tmp_path, "nowhere"), "--address", jobs, env={**tokenless, "HOME": str(nobody)})
    assert (none.returncode, none.stdout, none.stderr) == (2, "", (
        f"{where} wants Ray's authentication token and none is set here; {fix}, or write it to "
        f"{nobody}/.ray/auth_token\n"))
    wrong = _hpo("submit", _spec(tmp_path, "nowhere"), "--address", jobs,
                 env={**tokenless, "HOME": str(nobody), "RAY_AUTH_TOKEN": "0" * 64})
    assert (wrong.returncode, wrong.stdout, wrong.stderr) == (
        2, "", f"{where} refused the token from RAY_AUTH_TOKEN; {fix}\n")
    assert Store.open(world["pg"], home=tmp_path / "home").find_sweep("nowhere") is None


def test_z_storage_a_node_cannot_write_is_one_line_and_leaves_no_sweep(world: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    done = _hpo("submit", _spec(tmp_path, "badstore"), "--address", world["cluster"].jobs,
                "--storage", "s3://no-such-bucket/x", env=_env(world, tmp_path / "home"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpo submit: ") and "s3://no-such-bucket/x" in lines[0], lines
    assert Store.open(world["pg"], home=tmp_path / "home").find_sweep("badstore") is None
