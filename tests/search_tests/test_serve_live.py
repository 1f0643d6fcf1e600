"""``hpo serve`` live: a real server on a free loopback port over the store a real sweep is writing,
read by headless Chromium (Debian's, offline) while the sweep runs and after it ends."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hpo.results import Store
from hpo.search import run_sweep

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-extensions", "--mute-audio"]

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")]


def _chromium(args: list[str], profile: Path) -> str:
    done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _number(dom: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', dom)
    assert found, f"{element_id} missing from the page"
    return found.group(1)


@pytest.mark.slow
def test_the_dashboard_follows_a_running_sweep_in_chromium(ray_session: None, tmp_home: Path, tmp_path: Path,
                                                           make_spec) -> None:
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

    def used() -> int:
        try:
            return sum(t.iterations for t in store.trials("live"))
        except Exception:  # the sweep is not in the store yet
            return -1

    def watch() -> None:
        while used() < 1:
            time.sleep(0.2)
        for i in range(2):
            before = used()
            dom = _chromium(["--dump-dom", url], tmp_path / f"profile-live-{i}")
            seen.append((before, int(_number(dom, "budget-used")), used()))
            time.sleep(1.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        outcome = run_sweep(spec, progress="none")
        watcher.join(timeout=120)
        assert outcome.status == "finished"
        dom = _chromium(["--dump-dom", url], tmp_path / "profile-end")
        shot = tmp_path / "dashboard.png"
        _chromium([f"--screenshot={shot}", "--window-size=1280,1800", "--hide-scrollbars", url],
                  tmp_path / "profile-shot")
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
    keep = Path("/tmp/hpo-dashboard-test.png")  # for a person to look at
    keep.write_bytes(shot.read_bytes())
