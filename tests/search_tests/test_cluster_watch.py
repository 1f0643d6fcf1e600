"""The driver's watch on its Ray cluster (no Ray): a GCS that stops answering ends the process, in one line,
with the sweep marked interrupted. The integration test is ``test_cluster_env.py``'s lost cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpo.results import Store
from hpo.search.cluster.watch import EXIT_LOST, lost_after, lost_line
from hpo.search.errors import SweepInputError

ROOT = Path(__file__).resolve().parents[2]

# A "GCS" that answers (a listening socket) while the watch probes it every 0.1 s, then is gone: the
# watch must let the first second pass and end the process 0.5 s after the socket closed.
_WATCHED = """
import socket, sys, time
from hpo.results import Store
from hpo.search.cluster.watch import ClusterWatch
store = Store.open(sys.argv[1])
gcs = socket.socket()
gcs.bind(("127.0.0.1", 0))
gcs.listen(16)
address = "127.0.0.1:%d" % gcs.getsockname()[1]
watch = ClusterWatch(address, where="the Ray cluster at 10.0.0.1:6379", lost_after_s=0.5, every_s=0.1,
                     active=lambda: True)
watch.attach(store, "w")
watch.start()
time.sleep(1.0)
print("alive while the GCS answered", flush=True)
gcs.close()
time.sleep(60)
print("the watch never ended the process", flush=True)
"""


def test_a_gcs_that_stops_answering_ends_the_process_in_one_line_with_the_sweep_interrupted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store.open(url)
    store.start_sweep(name="w", spec_yaml=None, spec_hash=None, metric="loss", mode="min")
    done = subprocess.run([sys.executable, "-c", _WATCHED, url], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == EXIT_LOST == 130, done.stderr
    assert done.stdout == "alive while the GCS answered\n"
    assert done.stderr == (
        "hpo: lost the Ray cluster at 10.0.0.1:6379 (its GCS gave no answer for 0.5 s); sweep w is marked "
        "interrupted in the store: continue it with `hpo resume w` once the cluster is up\n")
    record = store.get_sweep("w")
    assert (record.status, record.reason) == (
        "interrupted", "the Ray cluster at 10.0.0.1:6379 was lost: its GCS gave no answer for 0.5 s")


def test_the_line_before_a_sweep_started_when_the_store_is_gone_too_and_for_a_local_ray() -> None:
    assert lost_line(where="the Ray cluster at h:6379", silent_s=20, sweep=None, marked=False) == (
        "hpo: lost the Ray cluster at h:6379 (its GCS gave no answer for 20 s) before the sweep started; run the "
        "command again once the cluster is up")
    assert lost_line(where="the Ray cluster at h:6379", silent_s=21, sweep="s", marked=False) == (
        "hpo: lost the Ray cluster at h:6379 (its GCS gave no answer for 21 s); sweep s could not be marked in the "
        "store (`hpo ls` shows it lost): continue it with `hpo resume s` once the cluster is up")
    assert lost_line(where="this sweep's local Ray at 10.0.0.2:41000", silent_s=20, sweep="s", marked=True,
                     local=True) == (
        "hpo: lost this sweep's local Ray at 10.0.0.2:41000 (its GCS gave no answer for 20 s); sweep s is marked "
        "interrupted in the store: continue it with `hpo resume s`")


def test_the_window_defaults_under_rays_own_and_follows_a_lowered_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HPO_CLUSTER_TIMEOUT_S", raising=False)
    monkeypatch.delenv("RAY_gcs_rpc_server_reconnect_timeout_s", raising=False)
    assert lost_after() == 20.0  # Ray's core worker ends a driver itself after 60 s
    monkeypatch.setenv("HPO_CLUSTER_TIMEOUT_S", "45")
    assert lost_after() == 30.0  # at most half of Ray's limit: the watch speaks first
    monkeypatch.setenv("RAY_gcs_rpc_server_reconnect_timeout_s", "10")
    assert lost_after() == 5.0
    monkeypatch.setenv("HPO_CLUSTER_TIMEOUT_S", "3")
    assert lost_after() == 3.0
    monkeypatch.setenv("HPO_CLUSTER_TIMEOUT_S", "0")
    assert lost_after() is None  # left to Ray
    monkeypatch.setenv("HPO_CLUSTER_TIMEOUT_S", "soon")
    with pytest.raises(SweepInputError) as err:
        lost_after()
    assert str(err.value) == "HPO_CLUSTER_TIMEOUT_S: expected seconds >= 0 (0 leaves a lost cluster to Ray), got 'soon'"
