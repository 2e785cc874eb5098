"""Print (A4 PDF) and small-screen layout of the report and the proposal.

Proposals are submitted as PDF, so the pages print on A4: headings stay with what
follows, charts and cards never split, tables shrink to fit and repeat their header,
and charts are re-laid out at the printable width before printing (plotly keeps its
screen width otherwise, and Chromium then shrinks the whole page or clips the right
edge). On a phone (< 640 px) charts move their legend below the plot, wrap their title
and use small margins; charts with long category labels (cluster comparison, MFU)
scroll sideways inside their frame, as tables do, instead of shrinking to nothing.

`window.capacityFit(width)` applies the layout for a given width; the page calls it on
load and resize, and before printing with the printable width (`PRINT_WIDTH_PX`), which
`capacity.report.browser.print_pdf` uses too.
"""

from __future__ import annotations

A4_WIDTH_MM = 210  # ISO 216
PRINT_MARGIN_MM = 12
MM_PER_INCH = 25.4
CSS_PX_PER_INCH = 96  # CSS Values and Units Level 3: 1in = 96px
# Printable width of A4 less the margins, in CSS pixels (186 mm = 703 px).
PRINT_WIDTH_PX = int((A4_WIDTH_MM - 2 * PRINT_MARGIN_MM) / MM_PER_INCH * CSS_PX_PER_INCH)
NARROW_PX = 640  # below this a chart gets the phone layout

PRINT_CSS = """
@page { size: A4; margin: __MARGIN__mm; }
@media print {
  body { font-size: 10pt; }
  header, main, footer { padding-left: 0; padding-right: 0; }
  header { background: none; }
  main { max-width: none; padding-bottom: 0; }
  h2, h3 { break-after: avoid-page; page-break-after: avoid; }
  h2 + *, h3 + * { break-before: avoid-page; page-break-before: avoid; }
  section.new-page { break-before: page; page-break-before: always; }
  .chart, .card, .note, tr, .verdict-box { break-inside: avoid; page-break-inside: avoid; }
  .chart { border: none; padding: 0; overflow: visible; }
  .chart .plotly-graph-div { min-width: 0 !important; }
  .scroll { overflow: visible; }
  table { font-size: 8pt; }
  thead { display: table-header-group; }
  th, td { padding: 3px 5px; }
  td.num { white-space: normal; }
  .modebar, .modebar-container { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
@media (max-width: __NARROW__px) {
  header, main, footer { padding-left: 12px; padding-right: 12px; }
  .chart.wide { overflow-x: auto; }
  .chart.wide .plotly-graph-div { min-width: 680px; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .card { overflow-wrap: anywhere; }
}
""".replace("__MARGIN__", str(PRINT_MARGIN_MM)).replace("__NARROW__", str(NARROW_PX))

# The original layout of each chart is kept so a wider window (or the end of printing)
# restores it; only margins, legend, title and fixed width change.
LAYOUT_JS = """
(function () {
  var NARROW = __NARROW__, PRINT = __PRINT__;
  function plots() { return Array.prototype.slice.call(
    document.querySelectorAll('.plotly-graph-div')); }
  function wrap(text, chars) {
    var words = String(text).split(' '), lines = [], line = '';
    words.forEach(function (w) {
      if (line && (line + ' ' + w).length > chars) { lines.push(line); line = w; }
      else { line = line ? line + ' ' + w : w; }
    });
    if (line) lines.push(line);
    return lines;
  }
  function fit(d, width, printing) {
    if (!window.Plotly || !d.layout) return null;
    var L = d.layout;
    if (!d._capOrig) {
      d._capOrig = {margin: JSON.parse(JSON.stringify(L.margin || {})),
                    legend: JSON.parse(JSON.stringify(L.legend || {})),
                    title: (L.title && L.title.text) || '',
                    size: (L.title && L.title.font && L.title.font.size) || 16,
                    height: L.height};
    }
    var o = d._capOrig, meta = L.meta || {}, wide = meta.narrow === 'scroll';
    var frame = d.parentElement ? d.parentElement.clientWidth : width;
    var w = Math.max(200, Math.min(width, frame || width) - 14);
    if (printing) {
      var m = Object.assign({}, o.margin);
      if (wide) { m.l = Math.min(m.l || 80, 250); }
      var lines = wrap(o.title, Math.floor(w / 8));
      d.parentElement.style.height = ((o.height || 450) + 60) + 'px';
      return Plotly.relayout(d, {width: w, 'margin.l': m.l, 'margin.r': Math.min(m.r || 30, 30),
        'margin.t': Math.max(m.t || 60, 40 + 18 * lines.length),
        'title.text': lines.join('<br>'), 'title.font.size': 14,
        'legend.orientation': 'h', 'legend.x': 0, 'legend.xanchor': 'left',
        'legend.y': -0.25, 'legend.yanchor': 'top', 'margin.b': Math.max(m.b || 60, 120),
        'height': (o.height || 450) + 60});
    }
    var p = null;
    if (width < NARROW && !wide) {
      var ln = wrap(o.title, Math.floor(w / 7.5));
      d.parentElement.style.height = ((o.height || 450) + 120) + 'px';
      p = Plotly.relayout(d, {width: null, autosize: true, 'margin.l': 48, 'margin.r': 10,
        'margin.t': 45 + 17 * ln.length, 'margin.b': 150,
        'title.text': ln.join('<br>'), 'title.font.size': 13,
        'legend.orientation': 'h', 'legend.x': 0, 'legend.xanchor': 'left',
        'legend.y': -0.3, 'legend.yanchor': 'top', 'legend.font.size': 10,
        'height': (o.height || 450) + 120});
    } else if (width < NARROW && wide) {
      d.parentElement.style.height = ((o.height || 450) + 80) + 'px';
      p = Plotly.relayout(d, {'title.text': wrap(o.title, 80).join('<br>'),
        'legend.orientation': 'h', 'legend.x': 0, 'legend.xanchor': 'left',
        'legend.y': -0.15, 'legend.yanchor': 'top',
        'margin.b': Math.max(o.margin.b || 60, 120), 'height': (o.height || 450) + 80});
    } else if (d._capNarrow || d._capPrinted) {
      d.parentElement.style.height = (o.height || 450) + 'px';
      p = Plotly.relayout(d, {width: null, autosize: true, 'margin': o.margin, 'legend': o.legend,
        'title.text': o.title, 'title.font.size': o.size, 'height': o.height});
    }
    d._capNarrow = width < NARROW;
    return p;
  }
  // Resolves when every chart is re-laid out; body[data-fit] then names the width.
  window.capacityFit = function (width, printing) {
    var done = plots().map(function (d) {
      var p = fit(d, width, !!printing); d._capPrinted = !!printing; return p; });
    return Promise.all(done).then(function () { document.body.dataset.fit = String(width); });
  };
  function screen() { window.capacityFit(window.innerWidth, false); }
  window.addEventListener('load', function () { if (window.innerWidth < NARROW) screen(); });
  var timer = null;
  window.addEventListener('resize', function () {
    clearTimeout(timer); timer = setTimeout(screen, 150); });
  window.addEventListener('beforeprint', function () { window.capacityFit(PRINT, true); });
  window.addEventListener('afterprint', screen);
})();
""".replace("__NARROW__", str(NARROW_PX)).replace("__PRINT__", str(PRINT_WIDTH_PX))
