"""The dashboard's stylesheet and its one script, served from this package (no CDN)."""

from __future__ import annotations

from hpo.results.report.html import REPORT_CSS

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
svg[data-hits] { cursor: crosshair; }
.plot-slot:not(.loaded) { min-height: 3em; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: #fff; border: 1px solid var(--line);
       border-radius: 6px; padding: 6px 8px; font-size: 12px; max-width: 420px; box-shadow: 0 2px 8px #0002; }
#tip b { font-family: ui-monospace, monospace; }
#selection { font-size: 13px; margin: 6px 0; min-height: 1.4em; }
.problem { color: #b00020; font-size: 13px; }
"""

# Live refresh: poll the JSON with If-None-Match; only when it changed (200, new ETag) fetch the
# page's <main> again and swap it in. Polling backs off on errors and pauses in hidden tabs, so
# a room of open dashboards never turns into a reload storm. Sort and filter state survive swaps.
SCRIPT = r"""
(function () {
  "use strict";
  var root = document.querySelector("main[data-api]");
  var state = { col: null, dir: 1, filter: "" };
  var brushes = [];  // {plot, axis, lo, hi} (fractions of a parallel axis) or {plot, rect: [x0, y0, x1, y1]}
  var selected = null;  // trial ids every brush keeps, or null when nothing is brushed
  var NS = "http://www.w3.org/2000/svg";

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
      var hit = (!needle || r.textContent.toLowerCase().indexOf(needle) >= 0) &&
                (selected === null || selected.has(r.getAttribute("data-trial")));
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

  // ---- plots: hover says which trial, a click opens it, a drag brushes (kept in the URL) ----
  function hits(svg) {
    if (!svg._hits) svg._hits = JSON.parse(svg.getAttribute("data-hits"));
    return svg._hits;
  }
  function plotKey(svg) { var f = svg.closest("figure"); return f ? f.id.replace(/^plot-/, "") : ""; }
  function at(svg, evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  function nearest(svg, p) {
    var h = hits(svg), best = null, bestD = 100;  // within 10 SVG units
    h.p.forEach(function (q) {
      var d = (q[0] - p.x) * (q[0] - p.x) + (q[1] - p.y) * (q[1] - p.y);
      if (d < bestD) { bestD = d; best = q; }
    });
    return best ? h.t[best[2]] : null;
  }
  function info() {
    var node = document.getElementById("trial-info");
    if (!node) return {};
    if (!node._info) node._info = JSON.parse(node.textContent);
    return node._info;
  }
  function tip() {
    var t = document.getElementById("tip");
    if (!t) { t = document.createElement("div"); t.id = "tip"; t.hidden = true; document.body.appendChild(t); }
    return t;
  }
  function showTip(id, evt) {
    var t = tip(), about = info()[id] || [null, ""];
    t.textContent = "";
    var b = document.createElement("b"); b.textContent = id; t.appendChild(b);
    t.appendChild(document.createTextNode(" · " + (root ? root.getAttribute("data-metric") : "metric") + " " +
      (about[0] === null ? "—" : about[0])));
    var c = document.createElement("div"); c.textContent = about[1]; t.appendChild(c);
    t.style.left = (evt.clientX + 14) + "px"; t.style.top = (evt.clientY + 14) + "px"; t.hidden = false;
  }
  function axisFrac(a, y) { return Math.max(0, Math.min(1, (a.y0 - y) / ((a.y0 - a.y1) || 1))); }
  function keptBy(brush) {
    var fig = document.getElementById("plot-" + brush.plot);
    var svg = fig && fig.querySelector("svg[data-hits]");
    if (!svg) return null;
    var h = hits(svg), keep = new Set();
    if (brush.axis !== undefined) {
      var index = -1;
      (h.a || []).forEach(function (a, i) { if (a.name === brush.axis) index = i; });
      if (index < 0) return null;
      var a = h.a[index];
      h.p.forEach(function (q) {
        var f = axisFrac(a, q[1]);
        if (q[3] === index && f >= brush.lo && f <= brush.hi) keep.add(h.t[q[2]]);
      });
    } else {
      var r = brush.rect;
      h.p.forEach(function (q) {
        if (q[0] >= r[0] && q[0] <= r[2] && q[1] >= r[1] && q[1] <= r[3]) keep.add(h.t[q[2]]);
      });
    }
    return keep;
  }
  function draw() {
    document.querySelectorAll("svg[data-hits]").forEach(function (svg) {
      var old = svg.querySelector("g.hpo-sel");
      if (old) old.remove();
      if (selected === null) return;
      var g = document.createElementNS(NS, "g"), h = hits(svg), key = plotKey(svg);
      g.setAttribute("class", "hpo-sel");
      brushes.forEach(function (b) {
        if (b.plot !== key) return;
        var box = document.createElementNS(NS, "rect"), x0, y0, x1, y1;
        if (b.axis !== undefined) {
          (h.a || []).forEach(function (a) {
            if (a.name !== b.axis) return;
            x0 = a.x - 6; x1 = a.x + 6;
            y0 = a.y0 - b.hi * (a.y0 - a.y1); y1 = a.y0 - b.lo * (a.y0 - a.y1);
          });
        } else { x0 = b.rect[0]; y0 = b.rect[1]; x1 = b.rect[2]; y1 = b.rect[3]; }
        if (x0 === undefined) return;
        box.setAttribute("x", x0); box.setAttribute("y", y0);
        box.setAttribute("width", x1 - x0); box.setAttribute("height", y1 - y0);
        box.setAttribute("fill", "#ff7f0e22"); box.setAttribute("stroke", "#ff7f0e");
        g.appendChild(box);
      });
      h.p.forEach(function (q) {
        if (!selected.has(h.t[q[2]])) return;
        var c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", q[0]); c.setAttribute("cy", q[1]); c.setAttribute("r", 3.5);
        c.setAttribute("fill", "none"); c.setAttribute("stroke", "#d62728"); c.setAttribute("stroke-width", 1.2);
        g.appendChild(c);
      });
      svg.appendChild(g);
    });
  }
  function select() {
    selected = null;
    brushes.forEach(function (b) {
      var keep = keptBy(b);
      if (keep === null) return;
      selected = selected === null ? keep
        : new Set(Array.from(selected).filter(function (id) { return keep.has(id); }));
    });
    var note = document.getElementById("selection");
    if (note) {
      note.textContent = "";
      if (selected !== null) {
        note.appendChild(document.createTextNode(selected.size + " trial(s) selected by " + brushes.length +
                                                 " brush(es) "));
        var clear = document.createElement("button"); clear.type = "button"; clear.id = "clear-selection";
        clear.textContent = "clear"; clear.addEventListener("click", function () { setBrushes([]); });
        note.appendChild(clear);
      }
    }
    draw();
    applyTable();
  }
  function setBrushes(list) {
    brushes = list;
    var hash = brushes.length ? "#sel=" + encodeURIComponent(JSON.stringify(brushes)) : " ";
    history.replaceState(null, "", hash === " " ? location.pathname + location.search : hash);
    select();
  }
  function fromUrl() {
    var m = /[#&]sel=([^&]*)/.exec(location.hash);
    if (!m) return [];
    try { var list = JSON.parse(decodeURIComponent(m[1])); return Array.isArray(list) ? list : []; }
    catch (e) { return []; }
  }
  function wireSvg(svg) {
    if (svg._wired) return;  // a plot kept across a live update keeps its listeners
    svg._wired = true;
    var start = null, draft = null;
    svg.addEventListener("mousemove", function (evt) {
      var p = at(svg, evt);
      if (start) {
        if (!draft) { draft = document.createElementNS(NS, "rect"); draft.setAttribute("fill", "#1f77b422");
                      draft.setAttribute("stroke", "#1f77b4"); svg.appendChild(draft); }
        var ax = start.axis;
        draft.setAttribute("x", ax ? ax.x - 6 : Math.min(start.x, p.x));
        draft.setAttribute("width", ax ? 12 : Math.abs(p.x - start.x));
        draft.setAttribute("y", Math.min(start.y, p.y)); draft.setAttribute("height", Math.abs(p.y - start.y));
        return;
      }
      var id = nearest(svg, p);
      if (id) showTip(id, evt); else tip().hidden = true;
    });
    svg.addEventListener("mouseleave", function () { tip().hidden = true; });
    svg.addEventListener("mousedown", function (evt) {
      if (evt.button !== 0) return;
      evt.preventDefault();
      var p = at(svg, evt), axis = null;
      (hits(svg).a || []).forEach(function (a) { if (Math.abs(a.x - p.x) <= 8) axis = a; });
      start = { x: p.x, y: p.y, axis: axis };
    });
    svg.addEventListener("mouseup", function (evt) {
      if (!start) return;
      var p = at(svg, evt), s = start;
      start = null;
      if (draft) { draft.remove(); draft = null; }
      if (Math.abs(p.x - s.x) < 3 && Math.abs(p.y - s.y) < 3) {  // a click: open the trial under it
        var id = nearest(svg, p), base = root && root.getAttribute("data-trials");
        if (id && base) location.href = base + encodeURIComponent(id);
        return;
      }
      var key = plotKey(svg), others = brushes.filter(function (b) {
        return !(b.plot === key && (s.axis ? b.axis === s.axis.name : b.rect));
      });
      if (s.axis) {
        var lo = axisFrac(s.axis, Math.max(s.y, p.y)), hi = axisFrac(s.axis, Math.min(s.y, p.y));
        others.push({ plot: key, axis: s.axis.name, lo: Math.round(lo * 1000) / 1000,
                      hi: Math.round(hi * 1000) / 1000 });
      } else {
        others.push({ plot: key, rect: [Math.min(s.x, p.x), Math.min(s.y, p.y), Math.max(s.x, p.x),
                                        Math.max(s.y, p.y)].map(function (v) { return Math.round(v * 10) / 10; }) });
      }
      setBrushes(others);
    });
  }
  function wirePlots() {
    document.querySelectorAll("svg[data-hits]").forEach(wireSvg);
    brushes = fromUrl();
    select();
  }
  // A big sweep's plots come after its page: each placeholder fetches its own plot, which is then wired
  // like the others, and the selection in the URL applies to it. No plot to draw: its figure goes.
  function loadPlots() {
    document.querySelectorAll(".plot-slot[data-src]").forEach(function (slot) {
      var src = slot.getAttribute("data-src");
      slot.removeAttribute("data-src");
      fetch(src, { cache: "no-store", credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 204) { var fig = slot.closest("figure"); if (fig) fig.remove(); return null; }
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          if (html === null || !slot.isConnected) return;
          slot.innerHTML = html;
          slot.classList.add("loaded");
          wirePlots();
        })
        .catch(function () {
          if (!slot.isConnected) return;
          var note = document.createElement("p"); note.className = "sub";
          note.textContent = "This plot did not load; reload the page, or open it on its own: ";
          var link = slot.querySelector("a");
          slot.textContent = "";
          slot.appendChild(note);
          if (link) note.appendChild(link);
        });
    });
  }
  // Across a live update, the plots already shown stay in their new placeholders until the new ones come.
  function keepPlots() {
    var kept = {};
    root.querySelectorAll(".plot-slot").forEach(function (slot) {
      var fig = slot.closest("figure"), svg = slot.querySelector("svg");
      if (fig && svg) kept[fig.id] = svg;
    });
    return kept;
  }
  function restorePlots(kept) {
    root.querySelectorAll(".plot-slot[data-src]").forEach(function (slot) {
      var fig = slot.closest("figure"), svg = fig && kept[fig.id];
      if (!svg) return;
      slot.textContent = "";
      slot.appendChild(svg);
    });
  }

  wire();
  wirePlots();
  loadPlots();
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
            var kept = keepPlots();
            root.innerHTML = html;
            restorePlots(kept);
            etag = fresh || etag;
            root.setAttribute("data-etag", etag);
            live = document.getElementById("live");
            wire();
            wirePlots();  // the selection (in the URL) applies to the new plots and table
            loadPlots();
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
