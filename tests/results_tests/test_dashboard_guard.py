"""What every dashboard request passes and every answer carries: the Host rule against DNS rebinding, the token's
hygiene, the security headers on every answer (errors and 500s too), bounded memory under made-up URLs, and a
deadline for a request's head (a real server on loopback)."""

from __future__ import annotations

import gc
import socket
import time
from pathlib import Path

import pytest

from hpo.results import Store

from .conftest import dashboard_client, fill_demo, serving

REFUSED_HOST = ("hpo serve: this server answers only to its own name (a loopback name or --host); for a reverse "
                "proxy add --allow-host NAME, or set a token\n")
SECURITY = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


def test_a_foreign_host_is_refused_without_a_token(demo: Store) -> None:
    client = dashboard_client(demo)
    rebound = client.get("/api/sweeps", headers={"Host": "evil.example:8080"})
    assert (rebound.status_code, rebound.text) == (400, REFUSED_HOST)
    assert all(key in rebound.headers for key in SECURITY)
    for host in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST.:8080", "[::1]:8080", "localhost"):
        assert client.get("/api/sweeps", headers={"Host": host}).status_code == 200, host
    for host in ("127.0.0.1:9999", "localhost:80x", "evil.example", "127.0.0.1.evil.example:8080"):
        assert client.get("/api/sweeps", headers={"Host": host}).status_code == 400, host
    proxied = dashboard_client(demo, hosts=("dash.example",))
    assert proxied.get("/", headers={"Host": "dash.example:8080"}).status_code == 200
    assert proxied.get("/", headers={"Host": "evil.example:8080"}).status_code == 400
    # Behind a token the token decides: a rebinding page has no token to send.
    guarded = dashboard_client(demo, token="t")
    assert guarded.get("/api/sweeps", headers={"Host": "evil.example:8080"}).status_code == 401
    assert guarded.get("/api/sweeps", headers={"Host": "dash.example", "Authorization": "Bearer t"}).status_code == 200


def test_every_answer_carries_the_headers_and_no_store_behind_a_token(demo: Store,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    guarded = dashboard_client(demo, token="t")
    auth = {"Authorization": "Bearer t"}
    for path, status in (("/", 200), ("/sweeps/demo", 200), ("/api/sweeps/demo", 200), ("/sweeps/nope", 404),
                         ("/static/dash.js", 200), ("/compare", 400)):
        answer = guarded.get(path, headers=auth)
        assert answer.status_code == status, path
        assert answer.headers["Cache-Control"] == "no-store", path
        assert all(key in answer.headers for key in SECURITY), path
    refused = guarded.get("/")
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    assert all(key in guarded.post("/", headers=auth).headers for key in SECURITY)

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug <b id=x>")

    monkeypatch.setattr(demo, "sweeps", broken)  # a bug under the index page, not a store error
    failed = dashboard_client(demo).get("/")
    assert (failed.status_code, failed.text) == (500, "hpo serve: internal error (the server's log has the details)\n")
    assert all(key in failed.headers for key in SECURITY) and failed.headers["content-type"].startswith("text/plain")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow(seconds=15)
def test_made_up_urls_leave_no_trace_and_real_pages_stay_cached(sqlite_store: Store, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    demo = sqlite_store  # the flood reads no store row: one backend is enough
    fill_demo(demo, tmp_path)
    client = dashboard_client(demo, min_rebuild_s=3600.0)
    built: list[str] = []  # the sweeps whose page was built: building one reads its results once
    results_frame = demo.results_frame
    monkeypatch.setattr(demo, "results_frame", lambda name, **kw: built.append(name) or results_frame(name, **kw))
    assert client.get("/sweeps/demo").status_code == 200
    assert client.get("/sweeps/demo/trials/t0").status_code == 200
    filler = "x" * 60_000  # httpx's longest URL is 64 KiB

    def flood(start: int, stop: int) -> None:
        for i in range(start, stop):
            assert client.get(f"/sweeps/{filler}{i}").status_code == 404
            assert client.get(f"/sweeps/demo?cx={filler}{i}&cy=lr").status_code == 400
            assert client.get(f"/sweeps/demo/trials/{filler}{i}").status_code == 404

    flood(0, 40)  # the allocator's own high-water mark first
    gc.collect()
    before = _rss_mb()
    flood(40, 200)  # 29 MB more of made-up names, axes and trial ids: kept, they would show
    gc.collect()
    grown = _rss_mb() - before
    assert grown < 10, f"RSS grew {grown:.0f} MB over a flood of made-up URLs"
    assert client.get("/sweeps/demo").status_code == 200
    assert client.get("/sweeps/demo/trials/t0").status_code == 200
    assert built == ["demo"]  # the real page was built once, and is still the cached one
    page = client.get(f"/sweeps/{'y' * 300}")
    assert page.status_code == 404 and f"no sweep named &#39;{'y' * 40}&#39;… (names are at most 255 characters)" \
        in page.text
    axis = client.get("/sweeps/demo?cx=nope&cy=lr")
    assert axis.status_code == 400 and ("no numeric param &#39;nope&#39; to draw the contour over; this sweep&#39;s: "
                                        "lr, optimizer.weight_decay") in axis.text


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off(demo: Store) -> None:
    with serving(demo, header_timeout_s=1.0) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.settimeout(10)
            start = time.monotonic()
            closed_after = None
            for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
                try:
                    slow.sendall(bytes([byte]))
                except OSError:  # the server closed it
                    closed_after = time.monotonic() - start
                    break
                time.sleep(0.05)
            if closed_after is None:
                assert slow.recv(1024) == b""  # closed, no answer
                closed_after = time.monotonic() - start
        assert closed_after < 5.0, f"the connection stayed open {closed_after:.1f} s"
        # A whole request still gets its answer.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as quick:
            quick.sendall(f"GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := quick.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200 ")
