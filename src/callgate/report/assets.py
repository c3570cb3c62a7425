"""The CSS and JavaScript inlined in the report and served by the web UI (no CDN, no build)."""

from __future__ import annotations

CSS = """
:root { --bad: #c0392b; --ok: #2f855a; --warn: #b7791f; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #fafafa; }
header.top { background: #1f2933; color: #fff; padding: 10px 24px; }
header.top a { color: #cde; margin-right: 14px; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 4px 0; } h4 { font-size: 13px; margin: 14px 0 4px; }
section.card, .call-detail { background: #fff; border: 1px solid var(--line); border-radius: 6px;
       padding: 12px 16px; margin: 12px 0; }
table { border-collapse: collapse; margin: 6px 0; background: #fff; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: #f0f2f4; font-weight: 600; }
table.compact td { padding: 1px 6px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.decision { font-size: 20px; font-weight: 700; padding: 10px 14px; border-radius: 6px;
            display: inline-block; color: #fff; }
.decision.small { font-size: 12px; padding: 1px 8px; border-radius: 4px; }
.decision.PROMOTE { background: var(--ok); } .decision.BLOCK { background: var(--bad); }
.decision.UNDECIDED { background: #b7791f; }
.decision.UNKNOWN, .decision.NONE { background: #777; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px;
         background: #e2e8f0; }
.badge.bad { background: #fde2e1; color: var(--bad); } .badge.ok { background: #dcf2e3;
         color: var(--ok); }
.tag { display: inline-block; background: #eef2f7; border-radius: 4px; padding: 0 6px;
       margin: 1px; font-size: 12px; }
.chart text, .timeline text { font-size: 11px; fill: #333; }
.chart .panel-title { font-size: 13px; font-weight: 600; }
.chart .muted, .timeline .muted { fill: var(--muted); }
.chart .tick, .timeline .tick { fill: var(--muted); font-size: 10px; }
.grid { stroke: #eee; stroke-width: 1; }
.zero { stroke: #333; stroke-width: 1.2; }
.margin-line { stroke: var(--bad); stroke-dasharray: 4 3; stroke-width: 1.2; }
.timeline { background: #fff; border: 1px solid var(--line); margin: 6px 0; }
.timeline .seek { cursor: pointer; }
.timeline .caller rect { fill: #4a6fa5; } .timeline .agent rect { fill: #6b8e23; }
.timeline .agent.cut rect { fill: #d9822b; }
.timeline .dropped rect { fill: none; stroke: #999; stroke-dasharray: 2 2; }
.timeline .tool path { fill: #8e44ad; } .timeline .tool.bad path { fill: var(--bad); }
.timeline .cut-mark { stroke: var(--bad); stroke-width: 2; }
.timeline [class*="ev-"] line { stroke: #999; stroke-width: 2; }
.timeline .ev-barge_in line, .timeline .ev-agent_cut line { stroke: var(--bad); }
.timeline .item:hover rect, .timeline .item:focus rect { stroke: #000; stroke-width: 1; }
.timeline .cursor { stroke: #e53e3e; stroke-width: 2; }
.players { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; }
.player { display: flex; gap: 6px; align-items: center; }
audio { height: 32px; }
.diff { line-height: 1.9; }
.diff del { background: #fde2e1; color: var(--bad); }
.diff ins { background: #dcf2e3; color: var(--ok); text-decoration: none; }
.diff .sub { background: #fff3cd; border-radius: 3px; padding: 0 2px; }
.diff .del { text-decoration: line-through; } .diff .ins { font-style: italic; }
.seek-btn { font: inherit; font-size: 12px; cursor: pointer; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; }
.reasons li { margin: 4px 0; }
.bar { display: inline-block; height: 10px; background: var(--bad); vertical-align: middle; }
"""

# Clicking any element with data-seek moves every player of the same call to that time (the
# audio tracks and the timeline share the virtual clock, both starting at 0). preload="none"
# players accept the position before loading and start there when played.
JS = """
(function () {
  function section(el) { return el.closest('.call-detail') || document; }
  function moveCursor(sec, t) {
    sec.querySelectorAll('svg.timeline').forEach(function (svg) {
      var dur = parseFloat(svg.dataset.duration), left = parseFloat(svg.dataset.left),
          plot = parseFloat(svg.dataset.plot), line = svg.querySelector('.cursor');
      if (!line || !(dur > 0)) return;
      var x = left + Math.max(0, Math.min(t, dur)) / dur * plot;
      line.setAttribute('x1', x); line.setAttribute('x2', x);
      line.setAttribute('visibility', 'visible');
    });
    var pos = sec.querySelector('.pos');
    if (pos) pos.textContent = t.toFixed(2) + ' s';
  }
  function seek(el) {
    var t = parseFloat(el.getAttribute('data-seek'));
    if (!isFinite(t)) return;
    var sec = section(el);
    sec.querySelectorAll('audio').forEach(function (a) {
      try { a.currentTime = t; } catch (e) { /* not seekable yet: ignored */ }
    });
    moveCursor(sec, t);
  }
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-seek]');
    if (el) { ev.preventDefault(); seek(el); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    var el = ev.target.closest && ev.target.closest('[data-seek]');
    if (el) { ev.preventDefault(); seek(el); }
  });
  document.addEventListener('timeupdate', function (ev) {
    if (ev.target.tagName === 'AUDIO') moveCursor(section(ev.target), ev.target.currentTime);
  }, true);
  document.querySelectorAll('input[data-filter]').forEach(function (input) {
    input.addEventListener('input', function () {
      var q = input.value.toLowerCase(),
          table = document.getElementById(input.getAttribute('data-filter'));
      if (!table) return;
      table.querySelectorAll('tbody tr').forEach(function (tr) {
        tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  });
})();
"""
