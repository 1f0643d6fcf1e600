"""Fixtures for the results tests: a store on every backend, and sweeps filled through the callback.

``store_url`` runs each store test on SQLite and, when ``HPO_TEST_PG_URL`` names a PostgreSQL
database (``tests/conftest.py`` starts a private server on loopback where PostgreSQL is installed),
on PostgreSQL too.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from store_rows import FakeTrial

from hpo.results import Store

PG_ENV = "HPO_TEST_PG_URL"

SPEC_YAML = """\
name: demo
trainable: tests.fake:train
metric: val_loss
mode: min
search: {algorithm: hyperopt, num_samples: 6, max_concurrent: 2, seed: 0}
scheduler: {type: asha, max_t: 4, grace_period: 1, reduction_factor: 2}
resources: {cpu: 1, gpu: 0.5}
params:
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  width: {type: choice, values: [16, 32]}
  tag: {type: choice, values: ["<script>alert(1)</script>", "a|b`c"]}
  optimizer:
    type: choice
    values:
      - {name: sgd, momentum: {type: float, low: 0.8, high: 0.99}}
      - {name: adamw, weight_decay: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}}
fixed: {epochs: 4}
"""

XSS = "<script>alert(1)</script>"
LOCAL = "http://127.0.0.1:8080"  # the dashboard answers only to its own name: the tests' client uses one


@contextmanager
def serving(store: Store, *, header_timeout_s: float | None = None, **options: Any) -> Iterator[str]:
    """The dashboard over ``store`` served for real (uvicorn on a free loopback port, in a thread); its base URL."""
    from hpo.results.dashboard import HEADER_TIMEOUT_S, create_app, listen, make_server

    sock = listen(host="127.0.0.1", port=0)
    server = make_server(create_app(store, **{"min_rebuild_s": 0.2, **options}),
                         header_timeout_s=header_timeout_s or HEADER_TIMEOUT_S)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def dashboard_client(store: Store, **options: Any) -> Any:
    """Starlette's test client over ``create_app(store, **options)``, as a browser on loopback would call it."""
    import warnings

    with warnings.catch_warnings():  # Starlette nudges towards httpx2; httpx is what is installed
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient

    from hpo.results.dashboard import create_app

    return TestClient(create_app(store, **options), base_url=LOCAL)


@dataclass
class FakeCheckpoint:
    path: str


def _drop_all(url: str) -> None:
    from sqlalchemy import create_engine

    from hpo.results.store.schema import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


# PostgreSQL joins the parametrisation only when configured; test_backends.py says so when not.
BACKENDS = ["sqlite", *(["postgresql"] if os.environ.get(PG_ENV) else [])]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL: SQLite in a temp dir; PostgreSQL from $HPO_TEST_PG_URL when set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    url = os.environ[PG_ENV]
    _drop_all(url)
    yield url
    _drop_all(url)


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    """An open store on every backend (home = a temp dir, for reports)."""
    opened = Store.open(store_url, home=tmp_path / "runs")
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """An open SQLite store in a temp home."""
    opened = Store.open(home=tmp_path / "runs")
    yield opened
    opened.close()


# Outcome of each demo trial: (values per iteration, how it ends). mode=min, max_t=4.
DEMO_TRIALS: dict[str, tuple[list[float], str]] = {
    "t0": ([1.0, 0.6, 0.4, 0.30], "complete"),  # best by last value (0.30) and completed
    "t1": ([0.9, 0.5, 0.2, 0.35], "complete"),  # best over all iterations (0.2 at iteration 3)
    "t2": ([1.2, 0.9, 0.8, 0.70], "complete"),
    "t3": ([1.5, 1.4], "complete"),  # ends at 2 < max_t: stopped early by ASHA
    "t4": ([2.0], "error"),
    "t5": ([1.1, 0.95], "running"),
}


def demo_config(index: int) -> dict[str, Any]:
    optimizer = ({"name": "sgd", "momentum": 0.9} if index % 2 == 0
                 else {"name": "adamw", "weight_decay": 10 ** -(index + 1)})
    return {"lr": 10 ** -(index % 4 + 1), "width": 16 * (1 + index % 2), "tag": XSS if index % 2 else "a|b`c",
            "optimizer": optimizer, "epochs": 4}


def fill_demo(store: Store, tmp_path: Path, *, name: str = "demo", start: bool = True) -> dict[str, FakeTrial]:
    """A sweep whose trials end every way: completed, stopped early, error, still running."""
    from hpo.results import StoreCallback

    if start:
        import yaml

        from hpo.spaces import build_plan, parse_spec

        spec_yaml = SPEC_YAML.replace("name: demo", f"name: {name}")
        # The engine stores the plan beside the spec; names with markup (escaping tests) bypass the spec's rule.
        plan = dataclasses.replace(build_plan(parse_spec(yaml.safe_load(SPEC_YAML))), name=name)
        store.start_sweep(name=name, spec_yaml=spec_yaml, spec_hash="h" * 16, metric="val_loss", mode="min",
                          experiment_path=str(tmp_path / "ray" / name), max_t=4, plan=plan.to_dict())
    callback = StoreCallback(store, sweep=name, metric="val_loss", mode="min", max_t=4)
    callback.setup()
    trials = {tid: FakeTrial(tid, demo_config(i)) for i, tid in enumerate(DEMO_TRIALS)}
    everyone = list(trials.values())
    for trial in everyone:
        callback.on_trial_start(0, everyone, trial)
    for step in range(1, 5):
        for tid, (values, _) in DEMO_TRIALS.items():
            if step <= len(values):
                callback.on_trial_result(0, everyone, trials[tid], {
                    "training_iteration": step, "time_total_s": step * 0.5, "val_loss": values[step - 1],
                    "val_acc": 1 - values[step - 1] / 3, "config": trials[tid].config,
                    "done": tid == "t3" and step == len(values),  # Tune sets done on the result it stops a trial at
                    "hostname": "x", "nested": {"a": step}})
    error_file = tmp_path / f"{name}-t4-error.txt"
    error_file.write_text(f"Failure # 1\nTraceback (most recent call last):\n  File x\nValueError: boom {XSS}\n")
    trials["t4"].error_file = str(error_file)
    trials["t0"].checkpoint = FakeCheckpoint(str(tmp_path / "ckpt" / "t0"))
    for tid, (_, end) in DEMO_TRIALS.items():
        if end == "complete":
            callback.on_trial_complete(0, everyone, trials[tid])
        elif end == "error":
            callback.on_trial_error(0, everyone, trials[tid])
    callback.on_experiment_end(everyone)
    return trials


@pytest.fixture
def demo(store: Store, tmp_path: Path) -> Store:
    """``store`` holding the ``demo`` sweep (see ``DEMO_TRIALS``)."""
    fill_demo(store, tmp_path)
    return store


@pytest.fixture
def demo_filler() -> Callable[..., dict[str, FakeTrial]]:
    """``fill_demo`` itself, for tests that fill several sweeps."""
    return fill_demo

