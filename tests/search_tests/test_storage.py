"""Ray's storage as a URI: where it resolves, the name check there, the per-node probe, a sweep on S3.

S3 is moto's real server on 127.0.0.1 (a server that cannot start fails the test, saying why).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from harness import run_hpo
from s3_server import BUCKET, moto_s3, s3_env

from hpo.results import Store, local_checkpoint
from hpo.search.cluster import storage
from hpo.search.errors import SweepInputError

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_s3() as endpoint:
        for key, value in s3_env(endpoint).items():
            monkeypatch.setenv(key, value)
        yield endpoint


def test_storage_resolves_spec_then_env_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(storage.STORAGE_ENV, raising=False)
    assert storage.resolve_storage(None, tmp_path) == str(tmp_path / "ray")
    monkeypatch.setenv(storage.STORAGE_ENV, "s3://from-env/p/")
    assert storage.resolve_storage(None, tmp_path) == "s3://from-env/p"
    assert storage.resolve_storage("s3://b/prefix", tmp_path) == "s3://b/prefix"
    monkeypatch.chdir(tmp_path)
    assert storage.resolve_storage("shared/ray", tmp_path) == str(tmp_path / "shared" / "ray")
    assert storage.experiment_uri("s3://b/prefix", "sw") == "s3://b/prefix/sw"


def test_storage_field_keeps_old_spec_hashes(make_spec) -> None:
    plain = make_spec()
    assert "storage" not in plain.to_dict()
    assert make_spec(storage="s3://b/p").to_dict()["storage"] == "s3://b/p"
    assert make_spec(storage="s3://b/p").spec_hash() != plain.spec_hash()


def test_a_storage_that_cannot_be_reached_is_named_with_its_secrets_masked() -> None:
    with pytest.raises(SweepInputError) as info:
        storage.exists("nosuch://AKIAEXAMPLE:wJalrXUtnF@bucket/runs?session_token=FwoG")
    shown = "nosuch://AKIAEXAMPLE:***@bucket/runs?session_token=***"
    assert str(info.value) == f"storage: cannot reach {shown}: Unrecognized filesystem type in URI: {shown}"


def test_exists_and_probe_on_s3(s3: str) -> None:
    assert not storage.exists(f"s3://{BUCKET}/runs/nothing")
    assert storage._probe(f"s3://{BUCKET}/runs", "token") is None
    assert storage._probe("s3://no-such-bucket/runs", "token") == (
        "Bucket 'no-such-bucket' not found. To create buckets, enable the allow_bucket_creation option.")


@pytest.mark.integration
def test_probe_names_the_node_that_cannot_write(ray_session: None, tmp_path: Path) -> None:
    import ray

    storage.probe_nodes(str(tmp_path / "ok"))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    node = next(n for n in ray.nodes() if n["Alive"])
    with pytest.raises(SweepInputError) as err:
        storage.probe_nodes(str(blocker / "ray"))
    text = str(err.value)
    assert text.startswith(f"storage: node {node['NodeManagerAddress']} ({node['NodeID'][:8]}) cannot write "
                           f"{blocker / 'ray'}: ")
    assert text.endswith("; give every node access (credentials, endpoint, the same mount) or choose another "
                         "storage (--storage)")
    assert "\n" not in text


@pytest.mark.integration
def test_single_node_sqlite_store_is_accepted(ray_session: None, tmp_path: Path) -> None:
    storage.check_store_reachable("sqlite:///x", sqlite_path=tmp_path / "x", client=False)
    with pytest.raises(SweepInputError, match=r"^store: a SQLite file on this machine .* through Ray Client; "):
        storage.check_store_reachable("sqlite:///x", sqlite_path=tmp_path / "x", client=True)


@pytest.mark.slow
@pytest.mark.integration
def test_sweep_checkpoints_to_s3_and_the_store_points_there(s3: str, tmp_path: Path) -> None:
    # In its own process: the local Ray it starts (and so every trial) inherits the S3 variables.
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "on-s3", "trainable": "toy:checkpointed", "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 2, "seed": 0}, "scheduler": {"type": "fifo", "max_t": 2},
        "params": {"x": {"type": "float", "low": -1.0, "high": 1.0}}, "fixed": {"max_iter": 2},
        "cluster": {"address": None, "num_cpus": 1, "num_gpus": 0}}))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "HPO_STORE", "HPO_STORAGE")}
    env.update(s3_env(s3), HPO_HOME=str(tmp_path / "home"), PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
    done = run_hpo("sweep", str(spec), "--storage", f"s3://{BUCKET}/runs", "-q", env=env)
    assert done.returncode == 0, done.stderr
    assert f"logs: s3://{BUCKET}/runs/on-s3" in done.stdout.splitlines()
    again = run_hpo("sweep", str(spec), "--storage", f"s3://{BUCKET}/runs", "-q", env=env)
    assert again.returncode == 2
    assert again.stderr == ("hpo sweep: sweep 'on-s3' already finished in the store; choose another name with "
                            "--name NEW_NAME\n")
    store = Store.open(home=tmp_path / "home")
    assert store.get_sweep("on-s3").storage_path == f"s3://{BUCKET}/runs"
    best = store.best("on-s3")
    assert best is not None and best.checkpoint_path.startswith(f"s3://{BUCKET}/runs/on-s3/")
    with local_checkpoint(best.checkpoint_path) as local:
        assert (local / "t").read_text() == "2"  # the toy's last iteration, read back from the bucket
    assert not (tmp_path / "home" / "ray" / "on-s3").exists()  # no trial dir on local disk
