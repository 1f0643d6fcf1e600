"""``hpo serve`` live: a real server on a free loopback port over the store a real sweep is writing,
read by headless Chromium (Debian's, offline) while the sweep runs and after it ends."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from harness import ChromiumLauncher, wait_for

from hpo.results import Store
from hpo.search import run_sweep

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _number(dom: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', dom)
    assert found, f"{element_id} missing from the page"
    return found.group(1)


@pytest.mark.slow
def test_the_dashboard_follows_a_running_sweep_in_chromium(ray_session: None, chromium: ChromiumLauncher,
                                                           tmp_home: Path, tmp_path: Path, make_spec) -> None:
    import uvicorn

    from hpo.results.dashboard import create_app, listen

    spec = make_spec(name="live", trainable="toy:checkpointed", scheduler={"type": "fifo", "max_t": 6},
                     search={"num_samples": 4, "max_concurrent": 2}, fixed={"max_iter": 6, "sleep": 0.5})
    with Store.open() as store:  # the sweep creates the store; the server needs it first
        pass
    store = Store.open()
    sock = listen(host="127.0.0.1", port=0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store, min_rebuild_s=0.5), log_level="warning"))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{port}/sweeps/live"
    seen: list[tuple[int, int, int]] = []  # (store's used before, page's used, store's used after)
    failed: list[BaseException] = []  # what went wrong in the watcher's thread, raised in the test's

    def used() -> int:
        try:
            return sum(t.iterations for t in store.trials("live"))
        except Exception:  # the sweep is not in the store yet
            return -1

    def watch() -> None:
        try:
            wait_for(lambda: used() >= 1, timeout=120, what="the sweep's first result in the store")
            for i in range(2):
                before = used()
                dom = chromium.run("--dump-dom", url, profile=tmp_path / f"profile-live-{i}").stdout
                seen.append((before, int(_number(dom, "budget-used")), used()))
                time.sleep(1.0)  # a second apart: the second page shows the sweep further on
        except BaseException as exc:  # pytest.fail's exception too: the test raises it
            failed.append(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        outcome = run_sweep(spec, progress="none")
        watcher.join(timeout=120)
        assert not watcher.is_alive(), "the watcher's pages took past 120 s after the sweep"
        if failed:
            raise failed[0]
        assert outcome.status == "finished"
        dom = chromium.run("--dump-dom", url, profile=tmp_path / "profile-end").stdout
        shot = tmp_path / "dashboard.png"  # the test's own folder: pytest keeps the last runs' for a person to see
        chromium.run(f"--screenshot={shot}", "--window-size=1280,1800", "--hide-scrollbars", url,
                     profile=tmp_path / "profile-shot")
        sweep, best = store.get_sweep("live"), store.best("live")
        final_used = sum(t.iterations for t in store.trials("live"))
    finally:
        server.should_exit = True
        serving.join(timeout=10)
        store.close()
    # While the sweep ran, each page showed what the store held at that moment ...
    assert len(seen) == 2, seen
    for before, page, after in seen:
        assert before <= page <= after, seen
    # ... and the numbers grew; at the end the page matches the store exactly.
    assert final_used == 24 and seen[0][1] < final_used
    assert _number(dom, "budget-used") == "24"
    assert _number(dom, "trials-total") == str(sweep.num_trials) == "4"
    assert _number(dom, "count-completed") == str(sweep.counts["completed"])
    assert best is not None and _number(dom, "best-value") == f"{best.last_metric:.6g}"
    assert _number(dom, "sweep-status") == "finished"
    assert dom.count("<svg") >= 3 and 'data-trial="' in dom
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 1800)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, "the page rendered more than a blank screen"
