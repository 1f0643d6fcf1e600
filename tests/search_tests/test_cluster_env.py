"""A local sweep runs on its own Ray whatever else is on the machine (issue 16); a ``ray start`` cluster that
wants Ray's token gets the one at hand, or one line saying what to set; a cluster lost mid-sweep ends the
driver in one line, the sweep interrupted, and a new cluster resumes it (issue 41).

Each case runs ``hpo`` in a fresh process with ``RAY_TMPDIR`` pointing at a private temporary
folder, so Ray's "current cluster" record is looked up there and never in the user's /tmp/ray.
Everything started here is on loopback and stopped (or killed) by the pid (process group) it was given.
Ray's token is the session's (``RAY_AUTH_TOKEN_PATH``, ``tests/conftest.py``); a driver that reads it from
``~/.ray/auth_token`` gets a ``HOME`` of the test's own, never the user's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import run_hpo, start_hpo, wait_for
from ray_cluster import stop_group

from hpo.search.cluster.orphans import records_dir

ROOT = Path(__file__).resolve().parents[2]
TOY_DIR = Path(__file__).parent
RAY = Path(sys.executable).parent / "ray"

SPEC: dict[str, Any] = {
    "name": "envtoy",
    "trainable": "toy:quadratic",
    "metric": "loss",
    "mode": "min",
    "search": {"algorithm": "random", "num_samples": 2, "seed": 0},
    "scheduler": {"type": "fifo", "max_t": 2},
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
    "fixed": {"max_iter": 2},
    "cluster": {"address": None, "num_cpus": 1, "num_gpus": 0},
}


# Run before `hpo`: its driver, as it exits, names the heavy packages it imported.
_HEAVY_IMPORTS_AT_EXIT = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('heavy imports:', sorted(m for m in ('torch', 'sklearn', 'mlflow', 'wandb', 'boto3')"
    " if m in sys.modules), file=sys.stderr))\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short private RAY_TMPDIR (Unix socket paths must stay under ~107 characters)."""
    path = Path(tempfile.mkdtemp(prefix="hpo-rt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(ray_tmp: Path, **extra: str) -> dict[str, str]:
    # RAY_AUTH_MODE: a local Ray in this process (the session's) sets it for itself; a driver joining a cluster
    # is never told it here, so it finds out that the cluster wants the token (hpo.search.cluster.ray_token).
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "HPO_STORE", "HPO_HOME", "RAY_AUTH_MODE")}
    env.update(RAY_TMPDIR=str(ray_tmp), PYTHONPATH=os.pathsep.join([str(ROOT), str(TOY_DIR)]), HPO_OFFLINE="1")
    env.update(extra)
    return env


def _tokenless_env(ray_tmp: Path, home: Path, **extra: str) -> dict[str, str]:
    """A driver with no Ray token at hand: none in the environment, a HOME of the test's own."""
    env = {k: v for k, v in _env(ray_tmp, **extra).items() if k not in ("RAY_AUTH_TOKEN_PATH", "RAY_AUTH_TOKEN")}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home), **extra}


def _session_token() -> str:
    return Path(os.environ["RAY_AUTH_TOKEN_PATH"]).read_text().strip()


def _spec(tmp_path: Path, **over: Any) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **over}))
    return str(path)


@contextlib.contextmanager
def _ray_head(ray_tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``ray start --head --block`` on 127.0.0.1 with a private temp dir; stopped by its process group.

    Its token authentication is on: ``ray start`` turns it on when a token is at hand (the session's).
    """
    port = _free_port()
    # The node's agent on a port of its own: Ray's default (52365) is often the session Ray's already,
    # and an agent that cannot bind it backs off and runs without its HTTP service.
    cmd = [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
           f"--dashboard-agent-listen-port={_free_port()}",
           "--num-cpus=1", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
           f"--temp-dir={ray_tmp / 'ray'}"]
    proc = subprocess.Popen(cmd, env=_env(ray_tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        record = ray_tmp / "ray" / "ray_current_cluster"
        wait_for(lambda: record.is_file() and record.read_text().strip(), timeout=90, every=0.5, proc=proc,
                 what=f"`ray start --head` to record its cluster in {record}")
        yield proc, port
    finally:
        stop_group(proc)


def _driver_logs(session: Path, pid: int) -> list[Path]:
    return list((session / "logs").glob(f"*_{pid}.log"))


@pytest.mark.slow(seconds=45)
@pytest.mark.integration
def test_local_sweep_leaves_a_running_ray_start_cluster_alone_and_a_join_presents_the_token_at_hand(
    tmp_path: Path, ray_tmp: Path
) -> None:
    from hpo.results import Store
    from hpo.search.cluster.local import cuda_gpu_count

    # One `ray start` head (token authentication on) for all of it: a local sweep beside it, then sweeps
    # told to join it, with the token at hand, with none and with the wrong one.
    with _ray_head(ray_tmp) as (head, port):
        session = (ray_tmp / "ray" / "session_latest").resolve()
        record = (ray_tmp / "ray" / "ray_current_cluster").read_text()
        # The local sweep declares one GPU more than CUDA sees here (issue 41): said, and recorded logical.
        seen = cuda_gpu_count()
        local = _spec(tmp_path, resources={"cpu": 1, "gpu": 0.5}, cluster={"address": None, "num_cpus": 1,
                                                                            "num_gpus": seen + 1})
        sweep = start_hpo("sweep", local, "--home", str(tmp_path / "home"), "-q", env=_env(ray_tmp),
                          prelude=_HEAVY_IMPORTS_AT_EXIT)
        out, err = sweep.communicate(timeout=240)
        assert sweep.returncode == 0, err
        assert out.startswith("sweep envtoy finished: 2 trial(s)"), out
        assert (f"cluster.num_gpus: {seen + 1} GPU(s) declared but CUDA sees {seen} on this machine: trials asking "
                "for a GPU run on the CPU; their GPU-hours are Ray's bookkeeping (recorded as logical)"
                in err.splitlines()), err
        assert Store.open(home=tmp_path / "home").get_sweep("envtoy").gpu_kind == "logical"
        # The sweep's driver never imported what it does not use (bench/scale.py: its start and RSS):
        # torch and boto3 (hpo.search.engine.tbx), scikit-learn (PB2 only), wandb and MLflow
        # (hpo.search.ray_compat.usage_tag); counting the GPUs CUDA sees needs no torch either.
        assert "heavy imports: []" in err.splitlines(), err
        # It ran on an instance of its own: no driver of it ever connected to the cluster,
        # which is still up and still the one recorded.
        assert _driver_logs(session, sweep.pid) == []
        local_session = (ray_tmp / "ray" / "session_latest").resolve()
        assert local_session != session
        assert head.poll() is None
        assert (ray_tmp / "ray" / "ray_current_cluster").read_text() == record

        # `ray start` turned token authentication on; the joining driver is not told (no RAY_AUTH_MODE) and
        # sends the token at hand (RAY_AUTH_TOKEN_PATH) all the same.
        spec = _spec(tmp_path, name="envjoin", cluster={"address": None})
        done = run_hpo("sweep", spec, "--home", str(tmp_path / "home"), "-q", timeout=240,
                       env=_env(ray_tmp, RAY_ADDRESS=f"127.0.0.1:{port}"))
        assert done.returncode == 0, done.stderr
        assert f"cluster.address is null but RAY_ADDRESS is set: joined the Ray cluster at 127.0.0.1:{port}" \
            in done.stderr.splitlines()
        assert len(list((session / "logs").glob("python-core-driver-*.log"))) >= 1

        # No token at hand, or the wrong one: one line saying what to set, before Ray starts (none of Ray's
        # C++ warnings), and nothing recorded.
        spec = _spec(tmp_path, name="envtoken", cluster={"address": f"127.0.0.1:{port}"})
        where = f"hpo sweep: cluster.address: the Ray cluster at '127.0.0.1:{port}'"
        fix = "set RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on its head prints it)"
        nobody = tmp_path / "nobody"
        none = run_hpo("sweep", spec, "--home", str(tmp_path / "home"), "-q", timeout=120,
                       env=_tokenless_env(ray_tmp, nobody))
        assert (none.returncode, none.stdout, none.stderr) == (2, "", (
            f"{where} wants Ray's authentication token and none is set here; {fix}, or write it to "
            f"{nobody}/.ray/auth_token\n"))
        wrong = run_hpo("sweep", spec, "--home", str(tmp_path / "home"), "-q", timeout=120,
                        env=_tokenless_env(ray_tmp, nobody, RAY_AUTH_TOKEN="0" * 64))
        assert (wrong.returncode, wrong.stdout, wrong.stderr) == (
            2, "", f"{where} refused the token from RAY_AUTH_TOKEN; {fix}\n")
        assert Store.open(home=tmp_path / "home").find_sweep("envtoken") is None


def _kill_session(leader: int) -> None:
    """SIGKILL every process of the session ``leader`` began (a `ray start` node and all it started), by pid."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[3]) == leader:  # field 6: the session id
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


@pytest.mark.slow(seconds=70)
@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finding a node's processes needs Linux /proc")
def test_a_cluster_lost_mid_sweep_ends_the_driver_in_one_line_and_a_new_cluster_resumes_the_sweep(
    tmp_path: Path, ray_tmp: Path
) -> None:
    """The whole `ray start` cluster killed under a joined sweep (issue 41): the driver ends within the watch's
    window (5 s here, 20 s by default; Ray's own end comes 60 s after the GCS), its one line last and no line of
    Ray's, the sweep marked interrupted; `hpo resume` on a new cluster finishes it, each result stored once.
    The token comes from ``~/.ray/auth_token`` (a HOME of the test's), unasked."""
    from hpo.results import Store

    home, user, gate = tmp_path / "home", tmp_path / "user", tmp_path / "gate"
    (user / ".ray").mkdir(parents=True)
    (user / ".ray" / "auth_token").write_text(_session_token())
    spec = _spec(tmp_path, name="lostc", trainable="toy:checkpointed", search={"algorithm": "random", "num_samples": 1},
                 scheduler={"type": "fifo", "max_t": 3}, cluster={"address": "auto"},
                 fixed={"max_iter": 3, "gate": str(gate), "hold_at": 2})  # held after iteration 1 until resumed
    store = Store.open(home=home)
    with _ray_head(ray_tmp) as (head, port):
        driver = start_hpo("sweep", spec, "--home", str(home), "-q", env=_tokenless_env(
            ray_tmp, user, RAY_ADDRESS=f"127.0.0.1:{port}", HPO_CLUSTER_TIMEOUT_S="5"))
        try:
            wait_for(lambda: store.find_sweep("lostc") and any(t.iterations >= 1 for t in store.trials("lostc")),
                     timeout=180, every=0.5, proc=driver, what="the joined sweep's first result")
            _kill_session(head.pid)
            out, err = driver.communicate(timeout=50)  # bounded: ours, not Ray's 60 s
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait(timeout=30)
    assert driver.returncode == 130, err
    assert out == ""
    assert err.splitlines() == [
        f"hpo: lost the Ray cluster at 127.0.0.1:{port} (its GCS gave no answer for 5 s); sweep lostc is marked "
        "interrupted in the store: continue it with `hpo resume lostc` once the cluster is up"]
    record = store.get_sweep("lostc")
    assert (record.status, record.reason) == (
        "interrupted", f"the Ray cluster at 127.0.0.1:{port} was lost: its GCS gave no answer for 5 s")

    gate.touch()
    second = Path(tempfile.mkdtemp(prefix="hpo-rt-", dir="/tmp"))
    try:
        with _ray_head(second) as (_, port2):
            joins = {"RAY_ADDRESS": f"127.0.0.1:{port2}"}
            wrong = run_hpo("resume", "lostc", "--home", str(home), "-q", timeout=120,
                            env=_tokenless_env(ray_tmp, user, RAY_AUTH_TOKEN="0" * 64, **joins))
            assert (wrong.returncode, wrong.stderr) == (2, (
                f"hpo resume: RAY_ADDRESS: the Ray cluster at '127.0.0.1:{port2}' refused the token from "
                "RAY_AUTH_TOKEN; set RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on its head "
                "prints it)\n"))
            done = run_hpo("resume", "lostc", "--home", str(home), "-q", timeout=240,
                           env=_tokenless_env(ray_tmp, user, **joins))
    finally:
        shutil.rmtree(second, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sweep lostc finished: 1 trial(s) (completed 1)"), done.stdout
    (trial,) = store.trials("lostc")
    assert list(store.history(trial.trial_id, sweep="lostc")["iteration"]) == [1, 2, 3]


@pytest.mark.slow(seconds=5)
def test_auto_without_a_cluster_is_one_line(tmp_path: Path, ray_tmp: Path) -> None:
    spec = _spec(tmp_path, cluster={"address": "auto"})
    done = run_hpo("sweep", spec, "--home", str(tmp_path / "home"), "-q", env=_env(ray_tmp), timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "hpo sweep: cluster.address: auto found no running Ray cluster (RAY_ADDRESS is unset and `ray start` "
        f"recorded none in {ray_tmp}/ray/ray_current_cluster); start one with `ray start --head`, or set "
        "cluster.address: null to run on a local Ray instance\n")
    assert done.stdout == ""


@pytest.mark.slow(seconds=5)
def test_auto_with_a_stale_record_and_dead_ray_address_are_one_line(tmp_path: Path, ray_tmp: Path) -> None:
    dead = f"127.0.0.1:{_free_port()}"
    (ray_tmp / "ray").mkdir()
    (ray_tmp / "ray" / "ray_current_cluster").write_text(dead)
    done = run_hpo("sweep", _spec(tmp_path, cluster={"address": "auto"}), "--home", str(tmp_path / "h1"), "-q",
                   env=_env(ray_tmp), timeout=120)
    assert (done.returncode, done.stderr) == (
        2, f"hpo sweep: cluster.address: cannot connect to Ray at {dead!r}: Connection refused\n")
    done = run_hpo("sweep", _spec(tmp_path), "--home", str(tmp_path / "h2"), "-q",
                   env=_env(ray_tmp, RAY_ADDRESS=dead), timeout=120)
    assert (done.returncode, done.stderr) == (
        2, f"hpo sweep: RAY_ADDRESS: cannot connect to Ray at {dead!r}: Connection refused; "
           "unset RAY_ADDRESS to run on a local Ray instance\n")


def _command(pid: int) -> str:
    """The process's command name (``/proc/PID/comm``); empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int, start: str) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = text[text.rindex(")") + 2:].split()
    return fields[0] != "Z" and fields[19] == start


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process records need Linux /proc")
def test_a_stale_cluster_record_does_not_stop_a_local_sweep_and_the_next_command_ends_what_its_kill_left_running(
    tmp_path: Path, ray_tmp: Path
) -> None:
    import json

    # `ray start` recorded a cluster that is gone: the local sweep starts its own Ray all the same.
    (ray_tmp / "ray").mkdir()
    (ray_tmp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{_free_port()}")
    home = tmp_path / "home"
    out_dir = tmp_path / "iters"
    out_dir.mkdir()
    spec = _spec(tmp_path, trainable="toy:checkpointed", search={"algorithm": "random", "num_samples": 1},
                 scheduler={"type": "fifo", "max_t": 60},
                 fixed={"max_iter": 60, "sleep": 1.0, "out_dir": str(out_dir)})
    sweep = start_hpo("sweep", spec, "--home", str(home), "-q", env=_env(ray_tmp), stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
    records: list[Path] = []
    try:
        wait_for((out_dir / "iterations.txt").exists, timeout=180, every=0.5, proc=sweep,
                 what="the sweep to start its trial")
        records = list(records_dir(home).glob("*.json"))
        assert [p.name for p in records] == [f"{sweep.pid}.json"]
        processes = json.loads(records[0].read_text())["processes"]
        assert processes
        named = {_command(pid): (pid, start) for pid, start in processes}
        sweep.send_signal(signal.SIGKILL)
        sweep.wait(timeout=30)
        # gcs_server and raylet die with their driver; the agents do not: the next command ends those.
        wait_for(lambda: not any(_alive(*named[n]) for n in ("gcs_server", "raylet") if n in named), timeout=60,
                 what=lambda: f"gcs_server and raylet to die with their driver (recorded: {sorted(named)})")
        done = run_hpo("ls", "--home", str(home), env=_env(ray_tmp), timeout=120)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: not any(_alive(pid, start) for pid, start in processes), timeout=10,
                 what=lambda: "the recorded processes to end after `hpo ls` (alive: "
                              f"{[pid for pid, start in processes if _alive(pid, start)]})")
        assert not records[0].exists()
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait(timeout=30)
        from hpo.search.cluster.orphans import reap_orphans

        reap_orphans(home)  # whatever a failed assertion left running
