"""The HTML report in a real browser: Debian's headless Chromium renders it, offline.

Skips (with the reason) only where /usr/bin/chromium is absent; ``.ci/run`` installs it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hpo.results import Store, export_report

from .conftest import fill_demo

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-extensions", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND"]  # nothing resolves: the page must not need the network

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)")


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_chromium_renders_the_report_offline(tmp_path: Path) -> None:
    with Store.open(home=tmp_path) as store:
        fill_demo(store, tmp_path)
        best = store.best("demo")
        report = export_report("demo", fmt="html", store=store)
    assert best is not None
    url = report.resolve().as_uri()

    shot = tmp_path / "report.png"
    done = _chromium([f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", url],
                     tmp_path / "profile-1")
    assert done.returncode == 0, done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image  # matplotlib's own dependency

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, "the page rendered more than a blank screen"

    dom = _chromium(["--dump-dom", url], tmp_path / "profile-2")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f"val_loss = {best.last_metric:.6g}" in dom.stdout
    assert dom.stdout.count("<svg") == 6  # no contour: the demo has one numeric param
    assert "<script" not in dom.stdout
