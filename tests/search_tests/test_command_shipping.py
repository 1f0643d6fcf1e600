"""`hpo submit` of a command sweep, without a cluster: the spec's folder measured as Ray packs it, the refusal
above the job server's limit (the limit set small in the hpo process, no mock of Ray), and the job's
entrypoint run by a real shell. The submit itself runs in tests/search_tests/test_submit.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import run_hpo
from s3_server import free_port

from hpo.results import SweepRecord
from hpo.search.cluster import shipping
from hpo.search.errors import SweepInputError
from hpo.search.ray_compat.packaging import job_upload_limit, zipped_size

MIB = 1024 * 1024


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    (folder / "data").mkdir(parents=True)
    (folder / "train.py").write_text('print(\'hpo-report: {"loss": 1.0}\')\n')
    (folder / "data" / "big.bin").write_bytes(os.urandom(2 * MIB))  # random: the zip cannot shrink it
    (folder / "spec.yaml").write_text(yaml.safe_dump({
        "name": "ship", "trainable": {"command": "python train.py"}, "metric": "loss", "mode": "min",
        "search": {"algorithm": "random", "num_samples": 1},
        "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}}))
    return folder


def test_zipped_size_leaves_out_what_ray_leaves_out(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    for skipped in (".venv", ".git", "__pycache__", "logs"):
        (folder / skipped).mkdir()
        (folder / skipped / "blob").write_bytes(os.urandom(MIB))
    (folder / ".gitignore").write_text("logs/\n")
    assert 2 * MIB < zipped_size(folder) < 2 * MIB + 64 * 1024
    (folder / ".rayignore").write_text("data/big.bin\n")
    assert zipped_size(folder) < 64 * 1024
    assert job_upload_limit() == 100 * MIB  # Ray 2.60's DASHBOARD_CLIENT_MAX_SIZE


def _submit(folder: Path, tmp_path: Path, *, limit: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HPO_STORE", "HPO_STORAGE", "RAY_ADDRESS")}
    env["HPO_HOME"] = str(tmp_path / "home")
    prelude = f"import hpo.search.cluster.shipping as s; s.UPLOAD_LIMIT = {limit}; "
    return run_hpo("submit", str(folder / "spec.yaml"), "--address", f"http://127.0.0.1:{free_port()}",
                   env=env, prelude=prelude, timeout=120)


def test_a_folder_above_the_job_servers_limit_is_refused_in_one_line_before_any_upload(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    done = _submit(folder, tmp_path, limit=MIB)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (
        f"hpo submit: trainable: the spec's folder {folder} packs to 2.0 MiB for the job's working_dir, above the "
        "1 MiB a Ray job server accepts; list large files in .rayignore there, or read data by absolute path\n"))
    # Listed in .rayignore, the data is not shipped: the submit goes on to the job server (none here).
    (folder / ".rayignore").write_text("data/\n")
    done = _submit(folder, tmp_path, limit=MIB)
    assert done.returncode == 2
    assert done.stderr.startswith("hpo submit: --address: cannot reach the Ray job server at http://127.0.0.1:")


def test_the_entrypoint_writes_the_spec_and_names_the_shipped_folder(tmp_path: Path) -> None:
    """The entrypoint as a real shell runs it, in the job's working_dir: the spec (quotes, $, unicode intact)
    reaches the driver as a file, and HPO_SPEC_DIR is that working_dir."""
    spec_yaml = "name: q\nfixed: {note: 'it''s $HOME \"x\" é'}\n"
    driver = (f"{sys.executable} -c 'import os, sys; print(repr(open(sys.argv[2]).read()), sys.argv[1], "
              "os.environ[\"HPO_SPEC_DIR\"], os.getcwd() != os.environ[\"HPO_SPEC_DIR\"])'")
    entry, env = shipping.command_entrypoint(driver, spec_yaml=spec_yaml, name="q")
    assert set(env) == {shipping.SPEC_YAML_ENV, shipping.SHIPPED_ENV} and env[shipping.SHIPPED_ENV] == "1"
    done = subprocess.run(["bash", "-c", entry], cwd=tmp_path, env={**os.environ, **env}, capture_output=True,
                          text=True, check=True)
    assert done.stdout == f"{spec_yaml!r} sweep {tmp_path} True\n"
    entry, env = shipping.command_entrypoint("echo", spec_yaml=None, name="q r")
    assert env == {shipping.SHIPPED_ENV: "1"}
    done = subprocess.run(["bash", "-c", entry], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout == "resume q r -q\n"
    with pytest.raises(SweepInputError) as caught:
        shipping.command_entrypoint("echo", spec_yaml="x" * 100_001, name="q")
    assert str(caught.value) == (
        "trainable: the spec is 100,001 bytes as YAML, above the 100,000 a job's environment carries; move long "
        "lists (points_to_evaluate) into a file the script reads")


def _record(**over: object) -> SweepRecord:
    fields: dict[str, object] = dict(name="ship", status="interrupted", spec_yaml=None, spec_hash=None, metric="loss",
                                     mode="min", started=None, finished=None, versions={}, git_commit=None,
                                     experiment_path=None, counts={})
    return SweepRecord(**{**fields, **over})  # type: ignore[arg-type]


def test_a_resume_ships_the_folder_the_last_job_shipped(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", _project(tmp_path)
    (home / "jobs" / "hpo-ship-1").mkdir(parents=True)
    shipping.remember_folder(home / "jobs" / "hpo-ship-1", folder)
    assert shipping.recorded_folder(_record(job_id="hpo-ship-1"), home) == folder
    # Started in the foreground (no job): beside the spec file it was read from.
    local = _record(spec_file={"path": str(folder / "spec.yaml"), "sha256": "0"})
    assert shipping.recorded_folder(local, home) == folder
    with pytest.raises(SweepInputError) as caught:
        shipping.recorded_folder(_record(job_id="hpo-ship-2"), home)
    assert str(caught.value) == (
        f"trainable: the folder sweep 'ship' ran its command from is not known on this machine (no {home}/jobs "
        "record of its job hpo-ship-2); submit the resume from the home that submitted it (--home)")
    folder.rename(tmp_path / "moved")
    with pytest.raises(SweepInputError) as caught:
        shipping.recorded_folder(_record(job_id="hpo-ship-1"), home)
    assert str(caught.value) == (f"trainable: the folder sweep 'ship' ran its command from, {folder}, is gone; "
                                 "put it back to resume the sweep on the cluster")
