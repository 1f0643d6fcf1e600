"""`hpo best --evaluate` on real sweeps of the cifar trainable, and the data set's bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hpo.search.cli.main import cli

TINY = ["--set", "search.num_samples=2", "--set", "scheduler.max_t=1", "--set", "fixed.epochs=1",
        "--set", "fixed.subset=400", "-q"]


@pytest.mark.slow
@pytest.mark.integration
def test_best_evaluate_scores_the_checkpoint_on_the_test_split(ray_session: None, tmp_home: Path) -> None:
    from hpo.results import Store
    from hpo.trainables import evaluate_checkpoint

    ran = CliRunner().invoke(cli, ["sweep", "quickstart", "--name", "ev", *TINY])
    assert ran.exit_code == 0, ran.output
    result = CliRunner().invoke(cli, ["best", "ev", "--evaluate", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    test = data["test"]
    assert (test["split"], test["dataset"], test["model"], test["n"]) == ("test", "synthetic", "tutorial_cnn", 2000)
    assert 0.0 <= test["acc"] <= 1.0 and test["epoch"] == data["iterations"] == 1
    best = Store.open().best("ev")
    assert test == evaluate_checkpoint(best.checkpoint_path, split="test")
    table = CliRunner().invoke(cli, ["best", "ev", "--evaluate"])
    assert table.exit_code == 0 and "test (held out)" in table.stdout and "n 2000, epoch 1" in table.stdout
    _evaluate_from_s3(best, test)


def _evaluate_from_s3(best: Any, expected: dict[str, Any]) -> None:
    """The same checkpoint in a bucket (moto's S3 server on loopback): `--evaluate` copies it down and scores it."""
    import os
    import socket

    from sqlalchemy import text

    from hpo.results import Store

    try:
        import pyarrow.fs
        from moto.server import ThreadedMotoServer
    except ImportError:
        return  # the S3 half needs moto[server] (dev extra); the local half above already ran
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                            "AWS_ENDPOINT_URL_S3", "AWS_EC2_METADATA_DISABLED")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}", AWS_EC2_METADATA_DISABLED="true")
    try:
        s3 = pyarrow.fs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1",
                                     allow_bucket_creation=True)
        s3.create_dir("ckpts")
        pyarrow.fs.copy_files(best.checkpoint_path, "ckpts/ev/best", source_filesystem=pyarrow.fs.LocalFileSystem(),
                              destination_filesystem=s3)
        store = Store.open()
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE trials SET checkpoint_path = :p WHERE trial_id = :t"),
                         {"p": "s3://ckpts/ev/best", "t": best.trial_id})
        result = CliRunner().invoke(cli, ["best", "ev", "--evaluate", "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["checkpoint_path"] == "s3://ckpts/ev/best" and data["test"] == expected
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _foreign(config: dict) -> None:
    """A user's trainable: its checkpoints are not the cifar trainable's."""
    import tempfile

    from ray import tune

    with tempfile.TemporaryDirectory() as d:
        Path(d, "weights.txt").write_text(str(config["a"]))
        tune.report({"acc": 0.5}, checkpoint=tune.Checkpoint.from_directory(d))


@pytest.mark.integration
def test_evaluate_on_a_checkpoint_that_is_not_cifar_exits_2(ray_session: None, tmp_home: Path) -> None:
    from hpo.search import run_sweep
    from hpo.spaces import parse_spec

    spec = parse_spec({"name": "foreign", "trainable": "mine:fn", "metric": "acc", "mode": "max",
                       "search": {"algorithm": "random", "num_samples": 1},
                       "scheduler": {"type": "fifo", "max_t": 1}, "params": {"a": {"type": "choice", "values": [1]}}})
    outcome = run_sweep(spec, trainable=_foreign, progress="none")
    assert outcome.best is not None and outcome.best.checkpoint_path
    result = CliRunner().invoke(cli, ["best", "foreign", "--evaluate"])
    assert result.exit_code == 2
    assert result.stderr == (f"hpo best: checkpoint {outcome.best.checkpoint_path}: no trainer.pt in it "
                             "(not a cifar trainable checkpoint)\n")


@pytest.mark.integration
def test_a_data_set_that_cannot_be_had_is_bad_input(ray_session: None, tmp_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    result = CliRunner().invoke(cli, ["sweep", "tutorial", "--set", f"fixed.data_dir={empty}", "-q"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"hpo sweep: cifar10 not found in {empty / 'cifar-10-batches-py'} and downloads "
                                    "are off (HPO_OFFLINE=1); ")
    assert "Traceback" not in result.output
    assert CliRunner().invoke(cli, ["ls"]).stdout.lower().startswith("no sweeps")  # nothing left behind
