"""report.html: one self-contained interactive page over one or several sweep folders.

plotly.js (from the pinned ``plotly`` package, inlined: nothing is fetched when the page is viewed)
draws the charts from one JSON blob in the page; a few lines of script colour and filter the Pareto
front by weight bits, sparsity, board and model. The page holds no path, time or random id, so the
same sweep gives the same bytes (the Dask and local engines compare report.html too).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ..errors import CodesignError
from ..fsutil import atomic_write_bytes
from .report_data import load_sweep

GENERATOR = "codesign report"     # <meta name="generator">: marks a page this tool wrote (replaced without --force)


def sweep_folders(dirs: list[Path]) -> list[Path]:
    """The sweep folders under the given ones: a folder with summary.json is one; a multi-pair sweep's
    output (one subfolder per model x device) is its subfolders in name order."""
    out = []
    for d in dirs:
        d = Path(d)
        if (d / "summary.json").is_file():
            out.append(d)
            continue
        subs = sorted(p for p in d.iterdir() if (p / "summary.json").is_file()) if d.is_dir() else []
        if not subs:
            raise CodesignError(f"'{d}' holds no sweep (no summary.json in it or its subfolders)", field="DIR")
        out.extend(subs)
    return out


def _g(v: Any, spec: str = ".4g") -> str:
    return "-" if v is None else format(v, spec)


def _hover(p: dict, i: int, sweep: dict) -> str:
    """The hover text of front point i: its parameters, the model's outputs, what holds it back."""
    from ..design import Quant

    q = Quant(**{k: p[k][i] for k in ("wbits", "abits", "kvbits", "group", "zero_point", "sparsity", "method",
                                      "mixed", "hi_wbits") if k in p})
    acc = p["accuracy_loss_pct"][i]
    lines = [
        f"<b>{html.escape(q.label())}</b> · {html.escape(sweep['title'])}",
        f"MPE {p['rows'][i]}x{p['cols'][i]}, SFU {p['sfu_lanes'][i]}, {p['weight_channels'][i]}+{p['kv_channels'][i]} "
        f"ch x {p['port_bits'][i]} b, {p['freq_mhz'][i]} MHz",
        f"{_g(p['decode_tokens_per_s'][i])} tok/s · {_g(p['energy_per_token_j'][i])} J/token · "
        f"{_g(p['power_w'][i], '.3g')} W · {_g(p['usd_per_mtoken'][i], '.3g')} USD/Mtok",
        f"accuracy loss {'not measured' if acc is None else format(acc, '.2f') + ' %'} · "
        f"{_g(p['roofline_fraction'][i], '.0%')} of roofline · utilization {_g(p['utilization'][i], '.0%')}",
        f"held back by: {html.escape(p['bottleneck'][i])}",
        f"grid index {p['index'][i]}",
    ]
    return "<br>".join(lines)


def build_data(folders: list[Path], compare: Path | None = None, csim: Path | None = None,
               verify: Path | None = None) -> dict:
    if (compare or csim or verify) and len(folders) != 1:
        raise CodesignError("--compare, --csim and --verify describe one sweep's best design: give one DIR",
                            field="DIR")
    sweeps = [load_sweep(f, compare, csim, verify) for f in folders]
    for s in sweeps:
        s["points"]["hover"] = [_hover(s["points"], i, s) for i in range(len(s["points"]["index"]))]
    return {"sweeps": sweeps, "plotted": sum(s["pareto_size"] for s in sweeps)}


def _json_for_script(obj: Any) -> str:
    # sorted keys, no NaN (None instead), and no "</" that could close the <script> element
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return text.replace("</", "<\\/")


def render(data: dict) -> bytes:
    from plotly import __version__ as plotly_version
    from plotly.offline import get_plotlyjs

    titles = ", ".join(s["title"] for s in data["sweeps"])
    page = (_TEMPLATE
            .replace("@TITLE@", html.escape(titles))
            .replace("@GENERATOR@", GENERATOR)
            .replace("@PLOTLY_VERSION@", plotly_version)
            .replace("@SCRIPT@", _SCRIPT)
            .replace("@STYLE@", _STYLE))
    head, tail = page.split("@PLOTLYJS@")
    mid, tail = tail.split("@DATA@")
    return (head + get_plotlyjs() + mid + _json_for_script(data) + tail).encode("utf-8")


def write_report(dest: Path, folders: list[Path], compare: Path | None = None, csim: Path | None = None,
                 verify: Path | None = None) -> dict:
    """Write report.html (atomically) over the sweep folders; returns the data it plotted."""
    data = build_data(folders, compare, csim, verify)
    atomic_write_bytes(Path(dest), render(data))
    return data


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1280px;padding:0 16px;color:#222}
h1{font-size:1.4em;margin:16px 0 4px} h2{font-size:1.15em;margin:28px 0 6px;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:16px 0 4px} table{border-collapse:collapse;font-size:.85em;margin:6px 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right} th{background:#f4f4f4}
td.l,th.l{text-align:left} .note{color:#555;font-size:.85em} .pass{color:#1a7f37;font-weight:600}
.fail{color:#c62828;font-weight:600} .none{color:#777} .controls{font-size:.85em;margin:6px 0}
.controls fieldset{display:inline-block;border:1px solid #ddd;margin:2px 6px 2px 0;padding:2px 8px}
.controls label{margin-right:8px;white-space:nowrap} .chart{width:100%;height:560px} .small{height:380px}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="@GENERATOR@">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codesign sweep report: @TITLE@</title>
<style>@STYLE@</style>
<script>@PLOTLYJS@</script>
</head><body>
<h1>codesign sweep report</h1>
<div class="note">@TITLE@ · self-contained page (plotly.js @PLOTLY_VERSION@ inlined); data from each sweep's
summary.json, pareto.csv and best.json</div>
<h2>Sweeps</h2><div id="sweeps"></div>
<h2>Pareto front: decode tokens/s against energy per token</h2>
<div class="note">Every point of each sweep's Pareto front (summary.json <code>pareto.size</code>; feasible, within the
constraints, non-dominated). Hover a point for its design, accuracy loss, fraction of the roofline and what holds it
back; stars mark each sweep's best J/token design (best.json), open diamonds the best design of the other objectives.</div>
<div class="controls" id="controls"></div>
<div id="pareto-count" class="note"></div>
<div id="pareto" class="chart"></div>
<h2>Roofline: tokens/s against off-chip bytes per decoded token</h2>
<div class="note">Batch-1 decode reads every weight and the KV cache once per token: no design beats
tokens/s = bandwidth / bytes per token (the line per board). Points: the Pareto front; stars: the best J/token design.</div>
<div id="roofline" class="chart"></div>
<div id="designs"></div>
<script id="codesign-data" type="application/json">@DATA@</script>
<script>@SCRIPT@</script>
</body></html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("codesign-data").textContent);
  var CFG = {displaylogo: false, responsive: true};
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
  var KEYS = {wbits: "weight bits", sparsity: "sparsity", device: "board", model: "model", method: "quantizer"};
  var FILTERS = ["wbits", "sparsity", "device", "model"];
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; }); }
  function g(v, d) { if (v === null || v === undefined) return "-"; return Number(v).toPrecision(d || 4); }
  function pct(v) { return (v === null || v === undefined) ? "-" : (100 * v).toFixed(1) + " %"; }
  function el(tag, attrs, html) { var e = document.createElement(tag); for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (html !== undefined) e.innerHTML = html; return e; }
  function table(head, rows, left) {
    var h = "<tr>" + head.map(function (c, i) { return "<th class=\"" + (left && left[i] ? "l" : "") + "\">" + esc(c) + "</th>"; }).join("") + "</tr>";
    rows.forEach(function (r) { h += "<tr>" + r.map(function (c, i) {
      return "<td class=\"" + (left && left[i] ? "l" : "") + "\">" + c + "</td>"; }).join("") + "</tr>"; });
    return "<table>" + h + "</table>";
  }

  // one flat list of front points over every sweep
  var P = [];
  D.sweeps.forEach(function (s, si) {
    var p = s.points;
    for (var i = 0; i < p.index.length; i++) {
      P.push({sweep: si, index: p.index[i], wbits: "W" + p.wbits[i], sparsity: p.sparsity[i], device: s.device,
              model: s.model, method: p.method[i], x: p.decode_tokens_per_s[i], y: p.energy_per_token_j[i],
              bytes: s.bandwidth_gbs / p.roofline_tokens_per_s[i], hover: p.hover[i]});
    }
  });
  function values(key) { var seen = {}; var out = [];
    P.forEach(function (q) { if (!(q[key] in seen)) { seen[q[key]] = 1; out.push(q[key]); } });
    return out.sort(function (a, b) { var na = parseFloat(String(a).replace(/^W/, "")), nb = parseFloat(String(b).replace(/^W/, ""));
      return (isNaN(na) || isNaN(nb)) ? (a < b ? -1 : a > b ? 1 : 0) : na - nb; }); }

  // sweeps table
  document.getElementById("sweeps").innerHTML = table(
    ["sweep", "workload", "points", "feasible", "within constraints", "Pareto front", "best J/token design", "accuracy"],
    D.sweeps.map(function (s) { var w = s.workload, b = s.best;
      return [esc(s.title), "batch " + w.batch + ", prompt " + w.prompt + ", generate " + w.generate,
              s.counts.points.toLocaleString("en"), s.counts.feasible.toLocaleString("en"),
              s.counts.meets_constraints.toLocaleString("en"), s.pareto_size.toLocaleString("en"),
              esc(b.quant_label) + ", MPE " + b.hw.rows + "x" + b.hw.cols + ", " + b.hw.freq_mhz + " MHz: " +
              g(b.values.decode_tokens_per_s) + " tok/s, " + g(b.values.energy_per_token_j) + " J/token",
              "<span class=\"note\">" + esc(s.accuracy) + "</span>"]; }),
    [true, true, false, false, false, false, true, true]);

  // Pareto controls: colour by one key, filter by the values of several
  var state = {colour: "wbits", on: {}};
  var ctl = document.getElementById("controls");
  var sel = "<fieldset><legend>colour by</legend><select id=\"colour-by\">";
  Object.keys(KEYS).forEach(function (k) { sel += "<option value=\"" + k + "\">" + KEYS[k] + "</option>"; });
  ctl.innerHTML = sel + "</select></fieldset>";
  FILTERS.forEach(function (k) {
    var fs = el("fieldset", {}, "<legend>" + KEYS[k] + "</legend>");
    state.on[k] = {};
    values(k).forEach(function (v) {
      state.on[k][v] = true;
      var lab = el("label", {}, "");
      var box = el("input", {type: "checkbox", "data-key": k, "data-value": String(v)});
      box.checked = true;
      box.addEventListener("change", function () { state.on[k][v] = box.checked; drawPareto(); });
      lab.appendChild(box); lab.appendChild(document.createTextNode(" " + v)); fs.appendChild(lab);
    });
    ctl.appendChild(fs);
  });
  document.getElementById("colour-by").addEventListener("change", function (e) { state.colour = e.target.value; drawPareto(); });

  function shown(q) { return FILTERS.every(function (k) { return state.on[k][q[k]]; }); }
  function bestTraces(xkey) {
    var xs = [], ys = [], tx = [], ox = [], oy = [], ot = [];
    D.sweeps.forEach(function (s, si) {
      var p = s.points, at = p.index.indexOf(s.best.index);
      var tps = s.best.values.decode_tokens_per_s, jpt = s.best.values.energy_per_token_j;
      xs.push(xkey === "bytes" ? s.bandwidth_gbs / s.best.values.roofline_tokens_per_s : tps);
      ys.push(xkey === "bytes" ? tps : jpt);
      tx.push("<b>best J/token design</b> (best.json)<br>" + (at >= 0 ? p.hover[at] : s.title));
      s.others.forEach(function (o) {
        if (o.index === s.best.index || xkey === "bytes") return;
        var k = p.index.indexOf(o.index);
        ox.push(o.tps); oy.push(o.jpt); ot.push("<b>best " + esc(o.objective) + "</b><br>" + (k >= 0 ? p.hover[k] : ""));
      });
    });
    var out = [{type: "scatter", mode: "markers", name: "best J/token design", meta: "best", x: xs, y: ys,
                hovertext: tx, hoverinfo: "text", marker: {symbol: "star", size: 17, color: "rgba(0,0,0,0)",
                line: {color: "black", width: 1.5}}}];
    if (ox.length) out.push({type: "scatter", mode: "markers", name: "best of another objective", meta: "best-other",
                x: ox, y: oy, hovertext: ot, hoverinfo: "text", marker: {symbol: "diamond-open", size: 11, color: "black"}});
    return out;
  }
  function drawPareto() {
    var groups = values(state.colour), traces = [], n = 0;
    groups.forEach(function (v, gi) {
      var pts = P.filter(function (q) { return q[state.colour] === v && shown(q); });
      n += pts.length;
      if (pts.length) traces.push({type: "scatter", mode: "markers", name: KEYS[state.colour] + " " + v + " (" + pts.length + ")",
                   meta: "pareto", x: pts.map(function (q) { return q.x; }), y: pts.map(function (q) { return q.y; }),
                   customdata: pts.map(function (q) { return q.index; }),
                   hovertext: pts.map(function (q) { return q.hover; }), hoverinfo: "text",
                   marker: {size: 8, color: COLOURS[gi % COLOURS.length], line: {color: "#333", width: 0.5}}});
    });
    var cnt = document.getElementById("pareto-count");
    cnt.textContent = n + " of " + P.length + " Pareto points shown";
    cnt.setAttribute("data-shown", n); cnt.setAttribute("data-total", P.length);
    return Plotly.react("pareto", traces.concat(bestTraces("tps")), {
      xaxis: {type: "log", title: {text: "decode tokens/s"}}, yaxis: {type: "log", title: {text: "energy per token, J"}},
      hovermode: "closest", legend: {font: {size: 11}}, margin: {t: 20}}, CFG);
  }

  function drawRoofline() {
    var traces = [];
    D.sweeps.forEach(function (s, si) {
      var pts = P.filter(function (q) { return q.sweep === si; });
      var bx = pts.map(function (q) { return q.bytes; });
      var lo = Math.min.apply(null, bx) / 1.6, hi = Math.max.apply(null, bx) * 1.6, xs = [], ys = [];
      for (var i = 0; i <= 40; i++) { var x = lo * Math.pow(hi / lo, i / 40); xs.push(x); ys.push(s.bandwidth_gbs / x); }
      traces.push({type: "scatter", mode: "lines", name: "bandwidth bound, " + s.device + " (" + s.bandwidth_gbs + " GB/s)",
                   x: xs, y: ys, hoverinfo: "skip", line: {color: COLOURS[si % COLOURS.length], width: 1.5}});
      traces.push({type: "scatter", mode: "markers", name: "Pareto front, " + s.title, x: bx,
                   y: pts.map(function (q) { return q.x; }), hovertext: pts.map(function (q) { return q.hover; }),
                   hoverinfo: "text", marker: {size: 6, color: COLOURS[si % COLOURS.length], opacity: 0.55}});
    });
    return Plotly.newPlot("roofline", traces.concat(bestTraces("bytes")), {
      xaxis: {type: "log", title: {text: "off-chip GB read per decoded token (weights + KV cache)"}},
      yaxis: {type: "log", title: {text: "decode tokens/s"}}, hovermode: "closest", margin: {t: 20}}, CFG);
  }

  function designSection(s, si) {
    var b = s.best, root = document.getElementById("designs"), plots = [];
    var sec = el("section", {id: "design-" + si, "class": "best-design", "data-index": b.index, "data-sweep": s.title});
    sec.innerHTML = "<h2>Best J/token design: " + esc(s.title) + "</h2>" +
      "<div class=\"note\">best.json, grid index <b class=\"best-index\">" + b.index + "</b> (" + esc(b.labels[String(b.index)] || "") + ")</div>" +
      table(["quantization", "MPE / SFU", "memory", "clock", "tokens/s", "J/token", "W", "USD/Mtok", "accuracy loss", "of roofline", "held back by"],
        [[esc(b.quant_label), b.hw.rows + "x" + b.hw.cols + " / " + b.hw.sfu_lanes, b.hw.weight_channels + "+" + b.hw.kv_channels + " ch x " + b.hw.port_bits + " b",
          b.hw.freq_mhz + " MHz", g(b.values.decode_tokens_per_s), g(b.values.energy_per_token_j), g(b.values.power_w, 3),
          g(b.values.usd_per_mtoken, 3), b.values.accuracy_loss_pct === null ? "not measured" : b.values.accuracy_loss_pct.toFixed(2) + " %",
          pct(b.values.roofline_fraction), esc(b.bottleneck)]], [true, true, true]) +
      "<h3>Decode step per instruction (share of the step's time)</h3><div id=\"ops-" + si + "\" class=\"chart small\"></div>" +
      "<h3>Resources (% of the device) and energy per token</h3><div id=\"res-" + si + "\" class=\"chart small\"></div>" +
      "<h3>GPU comparison</h3><div id=\"gpu-" + si + "\"></div>" +
      "<h3>Verification of this design</h3><div id=\"verify-" + si + "\"></div>";
    root.appendChild(sec);
    var ops = b.ops;
    plots.push(Plotly.newPlot("ops-" + si, ["memory", "compute"].map(function (bound) {
      var sel = ops.filter(function (o) { return o.bound === bound; });
      return {type: "bar", orientation: "h", name: bound + "-bound", y: sel.map(function (o) { return o.name + " (" + o.op + ")"; }),
              x: sel.map(function (o) { return 100 * o.time_share; }),
              hovertext: sel.map(function (o) { return o.name + " " + o.op + " x" + o.count + ": " + Math.round(o.cycles) + " cycles (compute " +
                Math.round(o.compute_cycles) + ", memory " + Math.round(o.memory_cycles) + ", fill " + Math.round(o.fill_cycles) + ")"; }),
              hoverinfo: "text+x"};
    }), {barmode: "stack", xaxis: {title: {text: "% of the decode step"}}, yaxis: {automargin: true, categoryorder: "total ascending"},
         margin: {t: 10}}, CFG));
    var rn = Object.keys(b.resources).filter(function (r) { return b.resources[r].fraction !== null && b.resources[r].fraction !== undefined; });
    var en = Object.keys(b.energy_breakdown_j);
    plots.push(Plotly.newPlot("res-" + si, [
      {type: "bar", name: "% of the device", x: rn, y: rn.map(function (r) { return 100 * b.resources[r].fraction; }),
       hovertext: rn.map(function (r) { return r + ": " + g(b.resources[r].used, 6) + " used"; }), hoverinfo: "text+y"},
      {type: "bar", name: "J per decoded token", x: en, y: en.map(function (k) { return b.energy_breakdown_j[k]; }),
       xaxis: "x2", yaxis: "y2", marker: {color: ["#8c8c8c", "#dd8452", "#55a868"]}}],
      {grid: {rows: 1, columns: 2, pattern: "independent"}, yaxis: {title: {text: "% of the device"}},
       yaxis2: {title: {text: "J per decoded token"}}, showlegend: false, margin: {t: 10}}, CFG));
    var gdiv = document.getElementById("gpu-" + si);
    if (s.gpu) {
      var f = s.gpu.fpga, rows = [[esc(f.device) + " (FPGA, " + esc(f.source) + ")", g(f.decode_tokens_per_s), g(f.energy_per_token_j), g(f.tokens_per_j), g(f.usd_per_mtoken, 3), "-"]];
      s.gpu.gpus.forEach(function (x) { rows.push([esc(x.gpu) + " (" + esc(x.source) + ", " + esc(x.dtype || "") + ")", g(x.decode_tokens_per_s),
        g(x.energy_per_token_j), g(x.tokens_per_j), g(x.usd_per_mtoken, 3), esc((x.ratios || {}).statement || "")]); });
      gdiv.innerHTML = table(["device", "tokens/s", "J/token", "tokens/J", "USD/Mtok", "FPGA versus it"], rows, [true, false, false, false, false, true]) +
        "<div id=\"gpuplot-" + si + "\" class=\"chart small\"></div>";
      var names = [f.device].concat(s.gpu.gpus.map(function (x) { return x.gpu; }));
      var all = [f].concat(s.gpu.gpus);
      plots.push(Plotly.newPlot("gpuplot-" + si, [
        {type: "bar", name: "tokens/s", x: names, y: all.map(function (x) { return x.decode_tokens_per_s; })},
        {type: "bar", name: "J/token", x: names, y: all.map(function (x) { return x.energy_per_token_j; }), xaxis: "x2", yaxis: "y2"}],
        {grid: {rows: 1, columns: 2, pattern: "independent"}, yaxis: {title: {text: "decode tokens/s"}},
         yaxis2: {title: {text: "J per token"}}, showlegend: false, margin: {t: 10}}, CFG));
    } else {
      gdiv.innerHTML = "<span class=\"none\">not run: <code>codesign compare --design &lt;sweep&gt;/best.json</code> writes " +
        "&lt;sweep&gt;/compare/compare.json, which <code>codesign report &lt;sweep&gt;</code> then shows</span>";
    }
    var v = s.verification, vd = document.getElementById("verify-" + si), parts = [];
    function verdict(ok) { return ok ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL</span>"; }
    parts.push("<p>C-simulation (HLS, bit-exact against the golden vectors): " + (v.csim ? verdict(v.csim.passed) + ", " +
      v.csim.instructions + " instructions, " + v.csim.values + " values, " + v.csim.mismatches + " mismatches" :
      "<span class=\"none\">not given (<code>codesign csim DIR --json &gt; csim.json</code>, then <code>codesign report --csim csim.json</code>)</span>") + "</p>");
    parts.push("<p>RTL simulation: " + (v.rtl ? verdict(v.rtl.passed) + " (" + esc(v.rtl.sim) + "), " + v.rtl.instructions +
      " instructions, " + v.rtl.cycles + " cycles" + (v.rtl.note ? "; " + esc(v.rtl.note) : "") :
      "<span class=\"none\">not given (<code>codesign verify --design best.json --json &gt; verify.json</code>, then <code>--verify verify.json</code>)</span>") + "</p>");
    if (v.rtl && v.rtl.cycle_table.length) {
      parts.push("<p>cycles per instruction type, RTL against the model:</p>" + table(["op", "count", "RTL cycles", "model cycles", "model error"],
        v.rtl.cycle_table.map(function (r) { return [esc(r.op), r.count, r.rtl, r.model === null ? "n/a" : r.model,
          r.error_pct === null ? "n/a" : (r.error_pct > 0 ? "+" : "") + r.error_pct.toFixed(1) + " %"]; }), [true]));
    }
    vd.innerHTML = parts.join("");
    return plots;
  }

  var all = [drawPareto(), drawRoofline()];
  D.sweeps.forEach(function (s, si) { all = all.concat(designSection(s, si)); });
  window.codesignReport = {ready: false, plotted: D.plotted};
  Promise.all(all).then(function () {
    window.codesignReport.ready = true;
    document.body.setAttribute("data-ready", "1");
  });
})();
"""
