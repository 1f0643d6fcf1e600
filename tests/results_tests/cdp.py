"""A real headless Chromium driven over the DevTools protocol (aiohttp's websocket client, no extra package):
navigate, evaluate, move and press the mouse, take screenshots. Started per test from the ``chromium``
fixture's launcher (tests/conftest.py), stopped by its pid."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

from harness import ChromiumLauncher, wait_for

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
_REPLY_S = 60.0  # the longest a DevTools command may take


class Chromium:
    """One browser with one page. ``with Chromium(chromium, tmp) as page: page.go(url); page.js("1 + 1")``."""

    def __init__(self, launcher: ChromiumLauncher, profile: Path, *, width: int = 1280, height: int = 900) -> None:
        self._proc = subprocess.Popen(
            launcher.argv("--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                          f"--window-size={width},{height}", "about:blank", profile=profile),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self._proc.stderr is not None
        stderr = self._proc.stderr

        def listening() -> str | None:  # one line of its stderr per look
            found = _LISTENING.search(stderr.readline())
            return found.group(1) if found else None

        url = wait_for(listening, timeout=60, every=0, proc=self._proc, what="chromium's DevTools endpoint")
        # Keep reading its stderr: a full pipe would stop the browser mid-test.
        threading.Thread(target=self._drain, daemon=True).start()
        self._loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._ws: Any = None
        self._session: Any = None
        self._run(self._connect(url, width, height))

    def _drain(self) -> None:
        assert self._proc.stderr is not None
        for _ in self._proc.stderr:
            pass

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    async def _connect(self, url: str, width: int, height: int) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(url, max_msg_size=0)
        target = await self._send("Target.createTarget", {"url": "about:blank"})
        attached = await self._send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self._page = attached["sessionId"]
        await self._send("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, page=True)

    async def _send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = False) -> Any:
        import aiohttp

        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self._page
        await self._ws.send_str(json.dumps(message))
        while True:
            message = await self._ws.receive(timeout=_REPLY_S)  # a browser that stops answering: an error
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"{method}: the DevTools connection ended ({message.type!r})")
            reply = json.loads(message.data)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def call(self, method: str, **params: Any) -> Any:
        """One DevTools command on the page."""
        return self._run(self._send(method, params, page=True))

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        done = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in done:
            raise RuntimeError(f"{expression}: {done['exceptionDetails']}")
        return done["result"].get("value")

    def wait(self, expression: str, *, timeout: float = 30.0) -> Any:
        """Poll until the expression is truthy; its value (the test fails at ``timeout``)."""
        return wait_for(lambda: self.js(expression), timeout=timeout, every=0.1,
                        what=f"the page to make true: {expression}")

    def go(self, url: str) -> None:
        """Navigate and wait until the page has loaded."""
        self.call("Page.navigate", url=url)
        self.wait(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def mouse(self, kind: str, x: float, y: float) -> None:
        """``moved``, ``pressed`` or ``released`` at viewport CSS pixels (left button)."""
        self.call("Input.dispatchMouseEvent", type=f"mouse{kind.capitalize()}", x=x, y=y, button="left",
                  buttons=1 if kind == "pressed" else 0, clickCount=1 if kind != "moved" else 0)

    def screenshot(self, path: Path, *, full: bool = True) -> None:
        """A PNG of the page (the whole page with ``full``)."""
        params: dict[str, Any] = {"format": "png"}
        if full:
            size = self.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
                          captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))

    def close(self) -> None:
        """Stop the browser (its pid), and the connection."""
        try:
            if self._ws is not None:
                self._run(self._ws.close())
            if self._session is not None:
                self._run(self._session.close())
        except Exception:  # the browser may already be gone
            pass
        finally:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if hasattr(self, "_loop"):
                self._loop.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
