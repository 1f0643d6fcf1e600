"""The HTML report in a real browser: Debian's headless Chromium renders it, offline.

Skips (with the reason) only where /usr/bin/chromium is absent (the ``chromium`` fixture); ``.ci/run`` installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import ChromiumLauncher

from hpo.results import Store, export_report

from .conftest import fill_demo

OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND"  # nothing resolves: the page must not need the network

pytestmark = pytest.mark.browser


def test_chromium_renders_the_report_offline(chromium: ChromiumLauncher, tmp_path: Path) -> None:
    with Store.open(home=tmp_path) as store:
        fill_demo(store, tmp_path)
        best = store.best("demo")
        report = export_report("demo", fmt="html", store=store)
    assert best is not None
    url = report.resolve().as_uri()

    shot = tmp_path / "report.png"
    chromium.run(OFFLINE, f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", url,
                 profile=tmp_path / "profile-1")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image  # matplotlib's own dependency

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, "the page rendered more than a blank screen"

    dom = chromium.run(OFFLINE, "--dump-dom", url, profile=tmp_path / "profile-2")
    assert f"val_loss = {best.last_metric:.6g}" in dom.stdout
    assert dom.stdout.count("<svg") == 6  # no contour: the demo has one numeric param
    assert "<script" not in dom.stdout
