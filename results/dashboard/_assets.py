"""The dashboard's stylesheet and its one script, served from this package (no CDN)."""

from __future__ import annotations

from .._html import _CSS as REPORT_CSS

__all__ = ["CSS", "SCRIPT"]

CSS = REPORT_CSS + """
body { max-width: 1280px; }
figure svg { width: auto; max-width: 100%; height: auto; }  /* one small plot stays small */
nav { margin: 0 0 12px; font-size: 13px; } nav a { margin-right: 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card h3 { margin: 0 0 6px; font-size: 13px; color: var(--muted); font-weight: 600; }
.big { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.bar { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: var(--alt); margin: 6px 0; }
.bar span { display: block; height: 100%; }
.s-completed { background: #1f77b4; } .s-stopped_early { background: #9e9e9e; }
.s-error { background: #d62728; } .s-running { background: #2ca02c; }
.meter { position: relative; height: 12px; background: var(--alt); border-radius: 6px; margin: 6px 0; }
.meter .used { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 6px; }
.meter .mark { position: absolute; top: -3px; bottom: -3px; width: 2px; background: var(--fg); }
.legend span { margin-right: 10px; font-size: 12px; color: var(--muted); }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 5px; margin-right: 4px; }
th.sortable { cursor: pointer; user-select: none; } th.sortable::after { content: " ↕"; color: var(--muted); }
th[aria-sort=ascending]::after { content: " ↑"; } th[aria-sort=descending]::after { content: " ↓"; }
input.filter { padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; width: 320px; }
.live { font-size: 12px; color: var(--muted); } .live.stale { color: #d62728; }
"""

# Live refresh: poll the JSON with If-None-Match; only when it changed (200, new ETag) fetch the
# page's <main> again and swap it in. Polling backs off on errors and pauses in hidden tabs, so
# a room of open dashboards never turns into a reload storm. Sort and filter state survive swaps.
SCRIPT = r"""
(function () {
  "use strict";
  var root = document.querySelector("main[data-api]");
  var state = { col: null, dir: 1, filter: "" };

  function cellValue(row, col) {
    var cell = row.children[col];
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    if (v === null) v = cell.textContent;
    var n = parseFloat(v);
    return (v !== "" && isFinite(n) && String(n) !== "NaN" && /^[-+0-9.eE]+$/.test(v)) ? n : v.toLowerCase();
  }

  function applyTable() {
    var table = document.querySelector("table.trials");
    if (!table) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    if (state.col !== null) {
      rows.sort(function (a, b) {
        var x = cellValue(a, state.col), y = cellValue(b, state.col);
        var xn = typeof x === "number", yn = typeof y === "number";
        if (xn !== yn) return xn ? -1 : 1;
        return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    var needle = state.filter.toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var hit = !needle || r.textContent.toLowerCase().indexOf(needle) >= 0;
      r.hidden = !hit;
      if (hit) shown++;
    });
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) {
      ths[i].setAttribute("aria-sort", i === state.col ? (state.dir > 0 ? "ascending" : "descending") : "none");
    }
    var count = document.getElementById("shown");
    if (count) count.textContent = shown + " of " + rows.length;
  }

  function wire() {
    var table = document.querySelector("table.trials");
    if (table) {
      var ths = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(ths, function (th, i) {
        th.classList.add("sortable");
        th.addEventListener("click", function () {
          state.dir = state.col === i ? -state.dir : 1;
          state.col = i;
          applyTable();
        });
      });
    }
    var input = document.querySelector("input.filter");
    if (input) {
      input.value = state.filter;
      input.addEventListener("input", function () { state.filter = input.value; applyTable(); });
    }
    applyTable();
  }

  wire();
  if (!root) return;
  var etag = root.getAttribute("data-etag");
  var delay = 3000, base = 3000, max = 60000;
  var live = document.getElementById("live");

  function schedule() { setTimeout(poll, delay); }

  function poll() {
    if (document.hidden) { schedule(); return; }
    fetch(root.getAttribute("data-api"), { headers: { "If-None-Match": etag }, cache: "no-store",
                                           credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 304) { delay = base; if (live) { live.className = "live"; } return null; }
        if (!r.ok) throw new Error("HTTP " + r.status);
        var fresh = r.headers.get("ETag");
        return fetch(root.getAttribute("data-fragment"), { cache: "no-store", credentials: "same-origin" })
          .then(function (f) {
            if (!f.ok) throw new Error("HTTP " + f.status);
            return f.text();
          })
          .then(function (html) {
            root.innerHTML = html;
            etag = fresh || etag;
            root.setAttribute("data-etag", etag);
            live = document.getElementById("live");
            wire();
            delay = base;
          });
      })
      .catch(function () {
        delay = Math.min(max, delay * 2);
        if (live) { live.className = "live stale"; live.textContent = "connection lost; retrying"; }
      })
      .then(schedule);
  }
  if (root.getAttribute("data-live") === "1") schedule();
})();
"""
