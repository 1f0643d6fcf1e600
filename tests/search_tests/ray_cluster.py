"""A real 2-node Ray cluster on loopback for the cluster tests: ``ray start --head`` + ``ray start --address``.

The nodes take distinct loopback IPs (127.0.0.2, 127.0.0.3: Ray turns 127.0.0.1 into the machine's
address), a private temp dir, and are stopped by the process groups this module started. A node that does
not come up fails the test that needed it (never a skip: a regression there must show).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import wait_for
from s3_server import free_port

RAY = Path(sys.executable).parent / "ray"
HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"


@dataclass(frozen=True)
class Cluster:
    gcs: str  # 127.0.0.2:PORT
    jobs: str  # http://127.0.0.1:PORT, the job server
    env: dict[str, str]  # what a client process needs (token auth, temp dir)


def stop_group(proc: subprocess.Popen[bytes], *, grace_s: float = 5.0) -> None:
    """Stop a process started in its own group (SIGTERM, then SIGKILL), by its pid.

    ``ray start --block`` takes some 30 s to shut down on SIGTERM; a test's throwaway cluster
    does not need that: its group gets SIGKILL after ``grace_s``.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _alive_nodes(jobs: str, token: str) -> int:
    request = urllib.request.Request(f"{jobs}/nodes?view=summary", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        data = json.load(response)
    return sum(1 for n in data["data"]["summary"] if n["raylet"]["state"] == "ALIVE")


@contextlib.contextmanager
def two_nodes(tmp: Path, env: dict[str, str], *, gcs_port: int, jobs_port: int) -> Iterator[Cluster]:
    """Head (1 CPU, the job server) and a worker (2 CPUs); the test FAILS, saying which, if they do not come up.

    Both read the session's Ray token (``RAY_AUTH_TOKEN_PATH``, set by ``tests/conftest.py``) and turn token
    authentication on (``RAY_AUTH_MODE=token`` in ``Cluster.env``); an hpo command needs only the token at hand.
    """
    env = {**env, "RAY_TMPDIR": str(tmp), "RAY_AUTH_MODE": "token",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    token = Path(env["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    common = ["--block", "--num-gpus=0", "--disable-usage-stats"]
    # Each node's job agent also listens on 127.0.0.1 at its HTTP port (default 52365): on one
    # machine, beside the session's Ray and each other, every node needs a port of its own.
    head = subprocess.Popen(
        [str(RAY), "start", "--head", *common, f"--dashboard-agent-listen-port={free_port()}",
         f"--node-ip-address={HEAD_IP}", f"--port={gcs_port}", "--num-cpus=1",
         "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={jobs_port}",
         f"--temp-dir={tmp / 'ray'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs = [head]
    jobs = f"http://127.0.0.1:{jobs_port}"
    try:
        wait_for(lambda: _alive_nodes(jobs, token) >= 1, timeout=120, every=1, proc=head, ignore=(OSError,),
                 what=f"`ray start --head` and its job server at {jobs}")
        worker = subprocess.Popen(
            [str(RAY), "start", *common, f"--dashboard-agent-listen-port={free_port()}",
             f"--address={HEAD_IP}:{gcs_port}", f"--node-ip-address={WORKER_IP}",
             "--num-cpus=2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(worker)
        wait_for(lambda: _alive_nodes(jobs, token) >= 2, timeout=120, every=1, proc=worker, ignore=(OSError,),
                 what=f"the second node (`ray start --address={HEAD_IP}:{gcs_port}`) to join")
        yield Cluster(gcs=f"{HEAD_IP}:{gcs_port}", jobs=jobs, env=env)
    finally:
        for proc in reversed(procs):
            stop_group(proc)
