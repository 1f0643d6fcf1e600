"""A local sweep runs on its own Ray whatever else is on the machine (issue 16).

Each case runs ``hpo`` in a fresh process with ``RAY_TMPDIR`` pointing at a private temporary
folder, so Ray's "current cluster" record is looked up there and never in the user's /tmp/ray.
Everything started here is on loopback and stopped by the pid (process group) it was given.
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
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "HPO_STORE", "HPO_HOME")}
    env.update(RAY_TMPDIR=str(ray_tmp), PYTHONPATH=os.pathsep.join([str(ROOT), str(TOY_DIR)]), HPO_OFFLINE="1")
    env.update(extra)
    return env


def _spec(tmp_path: Path, **over: Any) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **over}))
    return str(path)


@contextlib.contextmanager
def _ray_head(ray_tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``ray start --head --block`` on 127.0.0.1 with a private temp dir; stopped by its process group."""
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


@pytest.mark.slow(seconds=40)
@pytest.mark.integration
def test_local_sweep_leaves_a_running_ray_start_cluster_alone_and_ray_address_joins_it(
    tmp_path: Path, ray_tmp: Path
) -> None:
    # One `ray start` head for both halves: a local sweep beside it, then a sweep told to join it.
    with _ray_head(ray_tmp) as (head, port):
        session = (ray_tmp / "ray" / "session_latest").resolve()
        record = (ray_tmp / "ray" / "ray_current_cluster").read_text()
        sweep = start_hpo("sweep", _spec(tmp_path), "--home", str(tmp_path / "home"), "-q", env=_env(ray_tmp),
                          prelude=_HEAVY_IMPORTS_AT_EXIT)
        out, err = sweep.communicate(timeout=240)
        assert sweep.returncode == 0, err
        assert out.startswith("sweep envtoy finished: 2 trial(s)"), out
        # The sweep's driver never imported what it does not use (bench/scale.py: its start and RSS):
        # torch and boto3 (hpo.search.engine.tbx), scikit-learn (PB2 only), wandb and MLflow
        # (hpo.search.ray_compat.usage_tag).
        assert "heavy imports: []" in err.splitlines(), err
        # It ran on an instance of its own: no driver of it ever connected to the cluster,
        # which is still up and still the one recorded.
        assert _driver_logs(session, sweep.pid) == []
        local_session = (ray_tmp / "ray" / "session_latest").resolve()
        assert local_session != session
        assert head.poll() is None
        assert (ray_tmp / "ray" / "ray_current_cluster").read_text() == record

        spec = _spec(tmp_path, name="envjoin", cluster={"address": None})
        done = run_hpo("sweep", spec, "--home", str(tmp_path / "home"), "-q", timeout=240,
                       # `ray start` enables token auth; a driver joining it opts in the same way
                       env=_env(ray_tmp, RAY_ADDRESS=f"127.0.0.1:{port}", RAY_AUTH_MODE="token"))
        assert done.returncode == 0, done.stderr
        assert f"cluster.address is null but RAY_ADDRESS is set: joined the Ray cluster at 127.0.0.1:{port}" \
            in done.stderr.splitlines()
        assert len(list((session / "logs").glob("python-core-driver-*.log"))) >= 1


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
