"""The dashboard over a store written by an attacker (``hostile.py``): every page renders with every payload
escaped, no secret in a storage URI is served, and a malformed row costs one line, not the page. On every
store backend; the pages are also opened in a real Chromium (browser mark)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from harness import ChromiumLauncher
from sqlalchemy import text
from store_rows import fill_sweep

from hpo.results import Store, export_report
from hpo.results.dashboard._lazy import ORDER

from .cdp import Chromium
from .conftest import dashboard_client, serving
from .hostile import HOSTILE_SWEEP, fill_hostile, leaks

PLAIN = ("name: plain\nmetric: loss\nmode: min\nscheduler: {type: asha, max_t: 3}\n"
         "params:\n  x: {type: float, low: 0, high: 1}\n")


def _pages(store: Store) -> list[tuple[str, int]]:
    """Every page of the hostile sweep (and a compare with a plain one), with the status each should answer."""
    name = quote(HOSTILE_SWEEP, safe="")
    trials = [quote(t.trial_id, safe="") for t in store.trials(HOSTILE_SWEEP)]
    return [("/", 200), (f"/sweeps/{name}", 200), (f"/sweeps/{name}?fragment=1", 200),
            *[(f"/sweeps/{name}/plots/{kind}", 200) for kind in ORDER],
            *[(f"/sweeps/{name}/trials/{t}", 200) for t in trials],
            (f"/compare?sweeps={name},plain", 200), (f"/sweeps/{name}x", 404),
            (f"/sweeps/{name}/trials/{trials[0]}x", 404), ("/sweeps/%3Cb%20id%3Dpwn-url%3E", 404)]


@pytest.fixture
def hostile(store: Store, tmp_path: Path) -> Store:
    fill_hostile(store, tmp_path)
    fill_sweep(store, "plain", PLAIN, {f"p{i}": ({"x": i / 10}, [1.0, 0.5 + i / 10], "complete") for i in range(3)})
    return store


def test_every_page_escapes_every_payload(hostile: Store, tmp_path: Path) -> None:
    client = dashboard_client(hostile, min_rebuild_s=0.0)
    for path, status in _pages(hostile):
        page = client.get(path)
        assert page.status_code == status, path
        assert leaks(page.text) == [], path
        assert "pwn" in page.text or status == 404, path  # the payloads are there, as text
    trial = client.get(_pages(hostile)[-5][0]).text
    assert "OOM halvings" not in trial  # oom_halvings is not a number there: the facts leave it out
    listed, served = (client.get(path).text for path in ("/api/sweeps", f"/api/sweeps/{quote(HOSTILE_SWEEP, safe='')}"))
    assert json.loads(listed) and "SECRET" not in listed
    assert json.loads(served)["sweep"]["storage_path"].startswith("s3://KEY:***@bucket/") and "SECRET" not in served
    report = export_report(HOSTILE_SWEEP, fmt="html", path=tmp_path / "report.html", store=hostile)
    assert leaks(Path(report).read_text()) == [] and "SECRET" not in Path(report).read_text()


def test_a_malformed_row_costs_one_line_not_the_page(sqlite_store: Store) -> None:
    fill_sweep(sqlite_store, "m", PLAIN, {f"t{i}": ({"x": i / 10}, [1.0, 0.5 + i / 10, 0.4], "complete")
                                          for i in range(4)})
    with sqlite_store.engine.begin() as conn:  # SQLite keeps text in a numeric column; another writer did this
        conn.execute(text("UPDATE trials SET iterations='many', last_metric='x', started='yesterday' "
                          "WHERE trial_id='t1'"))
        conn.execute(text("UPDATE trials SET config='[1]', last_result='\"text\"' WHERE trial_id='t2'"))
        conn.execute(text("UPDATE results SET iteration='x', recorded='later', metrics='not json' WHERE id=2"))
        conn.execute(text("UPDATE sweeps SET plan='[1, 2]', max_t='y', finished='z'"))
    client = dashboard_client(sqlite_store, min_rebuild_s=0.0)
    note = ("The store holds text where a number belongs for 1 trial(s) (t1: last_metric, iterations, started); "
            "those values show as —.")
    sweep = client.get("/sweeps/m")
    assert sweep.status_code == 200 and note in sweep.text and 'id="trials-total">4<' in sweep.text
    trial = client.get("/sweeps/m/trials/t1")
    assert trial.status_code == 200 and note in trial.text
    for path in ("/", "/api/sweeps", "/api/sweeps/m", "/api/sweeps/m/trials/t1", "/sweeps/m/trials/t2",
                 "/compare?sweeps=m", *[f"/sweeps/m/plots/{kind}" for kind in ORDER]):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/sweeps/m/trials/t1").json()["trial"]["malformed"] == ["last_metric", "iterations",
                                                                                  "started"]


@pytest.mark.browser
def test_no_payload_acts_in_chromium(hostile: Store, chromium: ChromiumLauncher, tmp_path: Path) -> None:
    with serving(hostile) as base, Chromium(chromium, tmp_path / "profile") as page:
        for path, _ in _pages(hostile):
            url = base + path
            page.go(url)
            time.sleep(0.3)  # a meta refresh of 0 s would have left by now
            made = page.js("Array.from(document.querySelectorAll('[id^=pwn], meta[http-equiv], u'))"
                           ".map(function (e) { return e.outerHTML; })")
            assert (page.js("location.href"), made) == (url, []), path
