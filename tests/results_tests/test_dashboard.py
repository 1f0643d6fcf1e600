"""The dashboard's routes through Starlette's test client, on every store backend (no server, no browser)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette nudges towards httpx2; httpx is what is installed
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from store_rows import fill_sweep

from hpo.results import Store, StoreCallback
from hpo.results.dashboard import COST_TICK_S, ServeError, check_bind, fingerprint
from hpo.spaces import build_plan, parse_spec

from .conftest import XSS, FakeTrial, dashboard_client, fill_demo


@pytest.fixture
def client(demo: Store) -> TestClient:
    return dashboard_client(demo, min_rebuild_s=0.0)


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


def test_sweep_page_numbers_match_the_store(client: TestClient, demo: Store) -> None:
    page = client.get("/sweeps/demo")
    assert page.status_code == 200
    html = page.text
    sweep, best = demo.get_sweep("demo"), demo.best("demo")
    assert best is not None
    assert _text(html, "trials-total") == str(sweep.num_trials) == "6"
    assert _text(html, "count-stopped_early") == str(sweep.counts["stopped_early"])
    assert _text(html, "best-value") == f"{best.last_metric:.6g}"
    assert _text(html, "budget-used") == str(sum(t.iterations for t in demo.trials("demo")))
    assert html.count("<svg") == 6  # curves, params, parallel coordinates, best so far, timeline, rungs
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Our one script, and the trials' hover data as JSON the browser never runs (every "<" in it escaped).
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="trial-info">',
                                                  '<script src="/static/dash.js">']
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html
    assert "https://" not in html and "http://" not in html  # nothing from a CDN
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_api_matches_the_page_and_answers_304_until_the_store_changes(demo: Store, tmp_path: Path) -> None:
    # The demo sweep is running, so its ETag also moves with the cost clock every cost_tick_s of
    # wall time; that tick must not fall between the two requests below.
    client = dashboard_client(demo, min_rebuild_s=0.0, cost_tick_s=10**9)
    first = client.get("/api/sweeps/demo")
    assert first.status_code == 200
    doc = first.json()
    assert list(doc) == ["sweep", "plan", "budget", "cost", "best", "importance", "confirmation", "errors", "replaced",
                         "trials"]
    assert doc["errors"] == [{"error": f"ValueError: boom {XSS}", "count": 1, "trials": ["t4"]}]
    assert doc["best"]["trial_id"] == "t0" and doc["sweep"]["counts"] == demo.get_sweep("demo").counts
    assert doc["budget"]["used"] == 4 + 4 + 4 + 2 + 1 + 2 and doc["budget"]["trials_planned"] == 6
    assert doc["cost"]["gpu_hours"] == pytest.approx(0.5 * doc["cost"]["cpu_hours"])
    etag = first.headers["ETag"]
    again = client.get("/api/sweeps/demo", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    callback = StoreCallback(demo, sweep="demo", metric="val_loss", mode="min", max_t=4)
    callback.setup()
    late = FakeTrial("t9", {"lr": 0.5, "width": 16, "tag": "x", "optimizer": {"name": "sgd", "momentum": 0.9}})
    callback.on_trial_start(0, [late], late)
    callback.on_trial_result(0, [late], late, {"training_iteration": 1, "val_loss": 0.01, "config": late.config,
                                               "time_total_s": 1.0})
    callback.on_experiment_end([late])  # flushes
    changed = client.get("/api/sweeps/demo", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["best"]["trial_id"] == "t9"
    assert _text(client.get("/sweeps/demo?fragment=1").text, "trials-total") == "7"


def test_index_and_compare(client: TestClient, demo: Store, tmp_path: Path) -> None:
    fill_demo(demo, tmp_path, name="b<i>2")
    index = client.get("/")
    assert index.status_code == 200
    assert 'href="/sweeps/b%3Ci%3E2"' in index.text and "b&lt;i&gt;2" in index.text and "b<i>2" not in index.text
    listed = client.get("/api/sweeps").json()["sweeps"]
    assert sorted(s["name"] for s in listed) == ["b<i>2", "demo"]
    assert all(s["gpu_hours"] == pytest.approx(0.5 * s["cpu_hours"]) for s in listed)
    compare = client.get("/compare", params={"sweeps": "demo,b<i>2"})
    assert compare.status_code == 200 and compare.text.count("<svg") == 1
    assert "GPU-hours" in compare.text and "b<i>2" not in compare.text
    assert client.get("/compare").status_code == 400


def test_unknown_sweep_is_a_404_page_with_close_names(client: TestClient) -> None:
    page = client.get("/sweeps/dem<o")
    assert page.status_code == 404
    assert _text(page.text, "reason").startswith("no sweep named &#39;dem&lt;o&#39; in ")
    assert page.text.endswith("</html>\n") and "close names: demo" in page.text
    api = client.get("/api/sweeps/nope")
    assert api.status_code == 404 and api.json()["error"].startswith("no sweep named 'nope'")


def test_read_only_and_the_token(demo: Store) -> None:
    open_client = dashboard_client(demo)
    assert open_client.post("/api/sweeps").status_code == 405
    assert open_client.delete("/sweeps/demo").status_code == 405

    guarded = dashboard_client(demo, token="s3cret")
    refused = guarded.get("/api/sweeps")
    assert refused.status_code == 401
    assert refused.text == "a token is needed: ?token=T, or the header Authorization: Bearer T\n"
    assert guarded.get("/api/sweeps", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/sweeps", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.get("/static/dash.js").status_code == 401
    entered = guarded.get("/sweeps/demo", params={"token": "s3cret", "cx": "lr"}, follow_redirects=False)
    # On to the same URL without the token; the cookie (named after the port) carries it from here on.
    assert entered.status_code == 303 and entered.headers["location"] == "/sweeps/demo?cx=lr"
    assert entered.headers["set-cookie"] == "hpo_token_8080=s3cret; HttpOnly; Path=/; SameSite=strict"
    assert guarded.get("/sweeps/demo").status_code == 200
    assert guarded.get("/api/sweeps", params={"token": "s3cret"}).status_code == 200  # scripts: no redirect


def test_bind_rules() -> None:
    check_bind(host="127.0.0.1", port=8080, token=None)
    check_bind(host="::1", port=0, token=None)
    check_bind(host="0.0.0.0", port=8080, token="t")
    with pytest.raises(ServeError, match=r"^--host 0\.0\.0\.0 is not a loopback address: anyone who can reach "):
        check_bind(host="0.0.0.0", port=8080, token=None)
    with pytest.raises(ServeError, match=r"^--port must be in 0\.\.65535, got 70000$"):
        check_bind(host="127.0.0.1", port=70000, token=None)


def test_a_running_sweeps_etag_moves_with_the_cost_clock_and_a_finished_ones_does_not(demo: Store) -> None:
    now = 1000.0 * COST_TICK_S
    before = fingerprint(demo, "demo", now=now)
    assert fingerprint(demo, "demo", now=now + COST_TICK_S - 1) == before  # within one tick: unchanged
    assert fingerprint(demo, "demo", now=now + COST_TICK_S) != before  # its running trials cost more now
    assert fingerprint(demo, "demo", now=now, cost_tick_s=COST_TICK_S / 2) != before  # another clock, other ticks
    demo.finish_sweep("demo", "finished")
    ended = fingerprint(demo, "demo", now=now)
    assert ended != before
    assert fingerprint(demo, "demo", now=now + COST_TICK_S) == ended


def test_the_planned_budget_is_the_stored_plans(demo: Store) -> None:
    spec = parse_spec({"name": "planned", "trainable": "t:t", "metric": "loss", "mode": "min",
                       "search": {"algorithm": "random", "num_samples": 8},
                       "scheduler": {"type": "asha", "max_t": 8, "grace_period": 1, "reduction_factor": 2},
                       "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}})
    plan = build_plan(spec)
    demo.start_sweep(name="planned", spec_yaml=None, spec_hash=None, metric="loss", mode="min", max_t=8,
                     plan=plan.to_dict())
    client = dashboard_client(demo, min_rebuild_s=0.0)
    budget = client.get("/api/sweeps/planned").json()["budget"]
    assert budget == {"time_attr": "training_iteration", "used": 0, "expected": plan.budget_expected,
                      "full": plan.budget_full, "trials_started": 0, "trials_planned": 8}
    assert plan.budget_expected < plan.budget_full == 64
    page = client.get("/sweeps/planned?fragment=1").text
    assert f"planned: expected {plan.budget_expected} · full 64<br>0 of 8 trials started" in page
    # A sweep recorded without a plan (a store of hpo 0.1, a bare callback): no budget is made up for it.
    fill_sweep(demo, "bare", "name: bare\nmetric: loss\nmode: min\nsearch: {num_samples: 3}\n"
                             "scheduler: {type: asha, max_t: 4}\n", {"b0": ({"x": 1}, [1.0, 0.5], "complete")})
    bare = client.get("/api/sweeps/bare").json()["budget"]
    assert (bare["full"], bare["expected"], bare["used"], bare["trials_planned"]) == (None, None, 2, 3)
    assert "planned: no plan recorded<br>1 of 3 trials started" in client.get("/sweeps/bare?fragment=1").text
