"""Trackers from the spec's ``tracking:`` section: W&B offline and MLflow (SQLite and a real server), real libraries.

W&B never goes online here: every sweep uses ``mode: offline`` and the credential checks read a
netrc file written by the test.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from harness import wait_for

from hpo.search import run_sweep
from hpo.search.tracking.trackers import TrackingError, check_trackers
from hpo.spaces import apply_overrides, build_plan, parse_spec

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE)) if str(HERE) not in sys.path else None
from tb_files import scalars  # noqa: E402
from wandb_files import read_run  # noqa: E402

FAKE_KEY = "hpotest" + "0123456789abcdef" * 3  # well-formed for W&B, valid nowhere

SPEC: dict[str, Any] = {
    "name": "tracked",
    "trainable": "toy_tracking:reporting",
    "metric": "loss",
    "mode": "min",
    "search": {"algorithm": "grid", "num_samples": 1, "max_concurrent": 1},
    "scheduler": {"type": "fifo", "max_t": 3},
    "resources": {"cpu": 1, "gpu": 0},
    "params": {"x": {"type": "grid", "values": [0.3, 0.9]}},
    "fixed": {"max_iter": 3},
}


def _spec(*overrides: str, **over: Any) -> Any:
    return parse_spec(apply_overrides({**SPEC, **over}, list(overrides)), source="test")


@pytest.fixture
def no_wandb_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No W&B credentials anywhere: no key variable, an empty netrc, private W&B dirs."""
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("")
    monkeypatch.setenv("NETRC", str(netrc))
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    return netrc


# ---- the spec section -----------------------------------------------------------------------------------------


def test_set_override_creates_the_section_with_defaults() -> None:
    spec = _spec("tracking.wandb.mode=offline", "tracking.mlflow.tracking_uri=sqlite:///m.db")
    assert spec.tracking.wandb.model_dump() == {"project": "hpo", "entity": None, "group": None, "mode": "offline"}
    assert spec.tracking.mlflow.model_dump() == {"tracking_uri": "sqlite:///m.db", "experiment": None}
    assert parse_spec(spec.to_dict(), source="test") == spec


def test_a_spec_without_trackers_keeps_its_resolved_form_and_hash() -> None:
    spec = _spec()
    assert "tracking" not in spec.to_dict()
    assert spec.spec_hash() != _spec("tracking.wandb.mode=offline").spec_hash()


def test_bad_tracking_keys_are_reported_by_dotted_path() -> None:
    from hpo.spaces import SpecError

    with pytest.raises(SpecError) as info:
        _spec("tracking.wandb.mode=cloud", "tracking.wandb.api_key=x", "tracking.mlflow.uri=y")
    assert info.value.problems == [
        ("tracking.wandb.mode", "must be one of 'online', 'offline', 'disabled', got 'cloud'"),
        ("tracking.wandb.api_key", "unknown key; allowed: project, entity, group, mode"),
        ("tracking.mlflow.uri", "unknown key; allowed: tracking_uri, experiment"),
    ]


# ---- checks before Ray starts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("tracker", "override"), [("wandb", "tracking.wandb.mode=offline"),
                                                    ("mlflow", "tracking.mlflow.experiment=e")])
def test_a_tracker_not_installed_names_its_extra(monkeypatch: pytest.MonkeyPatch, tracker: str, override: str) -> None:
    monkeypatch.setitem(sys.modules, tracker, None)  # what Python does for a package that is not there
    with pytest.raises(TrackingError) as info:
        check_trackers(_spec(override))
    assert str(info.value) == (f"tracking.{tracker}: the {tracker} package is not installed; "
                               f"install the extra: pip install 'hpo-service[{tracker}]'")


def test_disabled_wandb_needs_neither_the_package_nor_a_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    check_trackers(_spec("tracking.wandb.mode=disabled"))
    from hpo.search.tracking.trackers import tracker_callbacks

    spec = _spec("tracking.wandb.mode=disabled")
    assert tracker_callbacks(spec, build_plan(spec)) == []


ONLINE_ERROR = ("hpo sweep: tracking.wandb: mode online needs W&B credentials and none were found; "
                "set WANDB_API_KEY (or run `wandb login`), or use mode: offline "
                "(--set tracking.wandb.mode=offline) and `wandb sync` later\n")


def test_online_without_credentials_exits_2_with_one_line_before_ray(
    no_wandb_login: Path, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray
    import yaml

    from hpo.search.cli.main import cli

    monkeypatch.syspath_prepend(str(HERE))
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "tracking": {"wandb": {"project": "p"}}}))
    before = ray.is_initialized()
    result = CliRunner().invoke(cli, ["sweep", str(path), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output.endswith(ONLINE_ERROR)  # W&B itself prints nothing either: one line
    assert result.output == ONLINE_ERROR
    assert ray.is_initialized() == before
    assert not (tmp_home / "ray").exists()


@pytest.mark.parametrize("source", ["env", "netrc"])
def test_online_credentials_from_the_environment_or_wandbs_netrc_pass(no_wandb_login: Path, source: str) -> None:
    env = {**os.environ}
    if source == "env":
        env["WANDB_API_KEY"] = FAKE_KEY
    else:
        no_wandb_login.write_text(f"machine api.wandb.ai\n  login user\n  password {FAKE_KEY}\n")
    # A fresh process: W&B keeps the credentials it found for the rest of a process's life.
    code = ("from hpo.spaces import parse_spec; import sys, json; "
            "from hpo.search.tracking.trackers import check_trackers; "
            "check_trackers(parse_spec(json.loads(sys.argv[1]))); print('ok')")
    import json

    spec = {**SPEC, "tracking": {"wandb": {"project": "p"}}}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


# ---- sweeps on the session's Ray --------------------------------------------------------------------------------


def _store_history(name: str) -> dict[str, tuple[str, list[float]]]:
    """Trial id -> (status, loss per iteration) as the results store has them."""
    from hpo.results import Store

    store = Store.open()
    return {t.trial_id: (t.status, list(store.history(t.trial_id, sweep=name)["loss"])) for t in store.trials(name)}


@pytest.mark.integration
def test_wandb_offline_writes_one_run_per_trial_with_its_history_and_status(
    ray_session: None, tmp_home: Path, no_wandb_login: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)  # present, but offline: it must not land anywhere
    # ASHA, one trial at a time: x=0.3 runs to max_t, then x=0.9 is worse at the first rung and is stopped.
    spec = _spec("tracking.wandb.mode=offline", "tracking.wandb.project=hpo-test", name="wb",
                 scheduler={"type": "asha", "max_t": 3, "grace_period": 1, "reduction_factor": 2})
    outcome = run_sweep(spec, progress="none")
    assert outcome.status == "finished"
    stored = _store_history("wb")
    assert sorted(status for status, _ in stored.values()) == ["completed", "stopped_early"]

    files = sorted(Path(outcome.experiment_path).glob("*/wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 2
    for path in files:
        run = read_run(path)
        trial_id = run["run"].run_id
        status, losses = stored[trial_id]
        assert run["run"].project == "hpo-test" and run["run"].run_group == "wb"
        assert path.parent.parent.parent.name.endswith(trial_id)  # in the trial's own directory
        assert run["config"]["hpo_sweep"] == "wb" and run["config"]["x"] in (0.3, 0.9)
        assert [row["loss"] for row in run["history"]] == pytest.approx(losses)  # one row per epoch, no extra
        assert [row["training_iteration"] for row in run["history"]] == list(range(1, len(losses) + 1))
        assert run["summary"]["hpo_status"] == status
    # Tune's TensorBoard events, through hpo's writer: each trial's losses, one per epoch, as the store has them.
    for trial_id, (_, losses) in stored.items():
        (trial_dir,) = Path(outcome.experiment_path).glob(f"*_{trial_id}")
        written = scalars(trial_dir, "ray/tune/loss")
        assert [step for step, _ in written] == list(range(1, len(losses) + 1))
        assert [value for _, value in written] == pytest.approx(losses, rel=1e-6)
    leaked = [p for p in tmp_home.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()]
    assert leaked == []


def _mlflow_runs(uri: str, experiment: str) -> dict[str, Any]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    return {run.data.tags["trial_name"]: (run, [m.value for m in sorted(
        client.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)]) for run in runs}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _MlflowServers:
    """Real ``mlflow server`` processes on loopback, one at a time, shared by a module's tests.

    Starting one costs some 10 s; the tests share it, and the one that stops a server mid-sweep
    leaves the next test a fresh one. Each runs in its own process group, stopped by its id.
    MLflow's job runner (six huey consumer processes for its GenAI jobs, 17 of the 23 CPU-seconds
    a start costs here) is off: tracking never uses it.
    """

    def __init__(self, root: Path) -> None:
        self.root, self.count = root, 0
        self.current: tuple[str, subprocess.Popen[bytes]] | None = None

    def live(self) -> tuple[str, subprocess.Popen[bytes]]:
        if self.current is not None and self.current[1].poll() is None:
            return self.current
        self.count += 1
        folder = self.root / f"server-{self.count}"
        folder.mkdir()
        port = _free_port()
        log = folder / "mlflow-server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                 "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
                 "--default-artifact-root", str(folder / "artifacts"), "--workers", "1"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            )
        url = f"http://127.0.0.1:{port}"
        self.current = (url, proc)
        import urllib.request

        def healthy() -> bool:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return True

        try:
            wait_for(healthy, timeout=120, every=0.5, proc=proc, ignore=(OSError,),
                     what=lambda: f"mlflow server at {url} to answer /health; its log ends:\n{log.read_text()[-2000:]}")
        except BaseException:
            with contextlib.suppress(ProcessLookupError):  # its workers, in its process group
                os.killpg(proc.pid, signal.SIGKILL)
            self.current = None
            raise
        return url, proc

    def stop(self) -> None:
        if self.current is None:
            return
        proc = self.current[1]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        self.current = None


@pytest.fixture(scope="module")
def mlflow_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_MlflowServers]:
    servers = _MlflowServers(tmp_path_factory.mktemp("mlflow"))
    yield servers
    servers.stop()


@pytest.fixture
def mlflow_server(mlflow_servers: _MlflowServers) -> tuple[str, subprocess.Popen[bytes]]:
    """A running ``mlflow server``: ``(url, process)``."""
    return mlflow_servers.live()


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite", "server"])
def test_mlflow_gets_one_run_per_trial_with_params_metric_history_and_status(
    ray_session: None, tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}" if backend == "sqlite" else request.getfixturevalue("mlflow_server")[0]
    name = f"ml-{backend}"
    spec = _spec(f"tracking.mlflow.tracking_uri={uri}", name=name,
                 params={"fail_at": {"type": "grid", "values": [0, 2]}}, fixed={"max_iter": 3, "x": 0.5})
    outcome = run_sweep(spec, progress="none")
    assert outcome.counts["completed"] == 1 and outcome.counts["error"] == 1
    stored = _store_history(name)
    runs = _mlflow_runs(uri, name)  # the experiment is the sweep's name
    assert len(runs) == 2
    for trial_id, (status, losses) in stored.items():
        [(run, history)] = [value for key, value in runs.items() if key.endswith(trial_id)]
        assert history == pytest.approx(losses)
        assert run.data.params["x"] == "0.5" and run.data.params["fail_at"] in ("0", "2")
        assert run.data.tags["hpo.sweep"] == name and run.data.tags["hpo.status"] == status
        assert run.info.status == ("FAILED" if status == "error" else "FINISHED")
    assert sorted(len(h) for _, h in runs.values()) == [1, 3]  # the failing trial reported once


@pytest.mark.integration
@pytest.mark.slow
def test_a_tracker_whose_server_stops_mid_sweep_warns_once_and_the_store_gets_everything(
    ray_session: None, tmp_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    mlflow_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    # MLflow's client retries a refused connection for minutes by default; the test needs no patience.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    url, proc = mlflow_server
    port = int(url.rsplit(":", 1)[1])
    spec = _spec(f"tracking.mlflow.tracking_uri={url}", name="ml-down",
                 fixed={"max_iter": 3, "stop_server": [proc.pid, port, 2]})
    with caplog.at_level(logging.WARNING, logger="hpo.search.tracking.common"):
        outcome = run_sweep(spec, progress="none")
    assert proc.wait(timeout=60) is not None  # the server really stopped during the sweep
    assert outcome.status == "finished" and outcome.counts["completed"] == 2
    assert sorted(len(losses) for _, losses in _store_history("ml-down").values()) == [3, 3]
    warnings = [r.getMessage() for r in caplog.records if r.name == "hpo.search.tracking.common"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("MLflow tracking failed (")
    assert warnings[0].endswith("); the sweep goes on without it, the results store has every result")
