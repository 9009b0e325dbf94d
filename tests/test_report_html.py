"""report.html: written by every sweep, self-contained, rendered in headless Chromium without console errors,
plotting exactly the Pareto points and best design summary.json states; `codesign report` over several sweeps."""

import json
import os
import re

import pytest

from browser import Page, chromium
from codesign.cli import main

# ~1.5k points, a front of a few dozen designs over two weight widths and both sparsities
SPACE = """
space:
  wbits: [4, 8]
  abits: [8]
  kvbits: [8]
  group: [128]
  zero_point: [false]
  sparsity: [dense, "2:4"]
  method: [rtn]
  mixed: [0]
  rows: [16, 32, 64]
  cols: [64, 128, 256]
  weight_channels: [14, 28]
  kv_channels: [2, 4]
  port_bits: [256, 512]
  freq_mhz: [200, 250, 300]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    (d / "space.yaml").write_text(SPACE)
    rc = main(["sweep", "--quiet", "--jobs", "1", "--space", str(d / "space.yaml"), "--out", str(d / "run"),
               "--max-accuracy-loss-pct", "inf"])
    assert rc == 0
    return d / "run"


def _data(path):
    text = path.read_text()
    m = re.search(r'<script id="codesign-data" type="application/json">(.*?)</script>', text, re.S)
    return text, json.loads(m.group(1).replace("<\\/", "</"))


def test_sweep_writes_a_self_contained_report(swept):
    s = json.loads((swept / "summary.json").read_text())
    text, data = _data(swept / "report.html")
    # nothing to fetch: no external script, stylesheet or image; plotly.js is inside
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', text)
    assert "Plotly" in text and len(text) > 1_000_000
    (sw,) = data["sweeps"]
    assert data["plotted"] == s["pareto"]["size"] == len(sw["points"]["index"]) > 5
    assert sw["best"]["index"] == s["best_design"]["index"]
    # every front point says what holds it back (search.bottleneck on its own prediction)
    assert all(b != "-" and "bound" in b for b in sw["points"]["bottleneck"])
    assert {"W4", "W8"} <= {f"W{w}" for w in sw["points"]["wbits"]}


def _browser_or_skip():
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/bootstrap.sh installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install -y --no-install-recommends chromium)")


def test_report_renders_in_headless_chromium(swept, tmp_path, record_property):
    _browser_or_skip()
    s = json.loads((swept / "summary.json").read_text())
    url = (swept / "report.html").resolve().as_uri()
    with Page(url, "window.codesignReport && window.codesignReport.ready") as p:
        shot = tmp_path / "report.png"
        p.page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the report: {shot}")   # shown with -s or on failure; also in the JUnit XML
        record_property("screenshot", str(shot))
        assert p.console_errors == []
        assert [u for u in p.requests if not u.startswith(("file:", "data:", "blob:"))] == []
        count_points = """() => { const gd = document.getElementById("pareto"); const out = {};
            gd.querySelectorAll(".scatterlayer .trace").forEach(g => {   // d3 binds each group to its trace
              const m = g.__data__[0].trace.meta; out[m] = (out[m] || 0) + g.querySelectorAll("path.point").length; });
            return out; }"""
        drawn = p.page.evaluate(count_points)
        # the plotted front is summary.json's, point for point (SVG markers actually drawn)
        assert drawn["pareto"] == s["pareto"]["size"]
        assert drawn["best"] == 1
        assert p.page.get_attribute("#pareto-count", "data-shown") == str(s["pareto"]["size"])
        # the best design shown is summary.json's
        assert p.page.get_attribute(".best-design", "data-index") == str(s["best_design"]["index"])
        assert p.page.inner_text(".best-design .best-index") == str(s["best_design"]["index"])
        star = p.page.evaluate("""() => { const t = document.getElementById("pareto")._fullData.find(t => t.meta === "best");
                                          return [t.x[0], t.y[0]]; }""")
        v = s["best"]["energy_per_token_j"]["values"]
        assert star == pytest.approx([v["decode_tokens_per_s"], v["energy_per_token_j"]])
        # hovering a front point shows its design, accuracy loss, roofline fraction and what holds it back
        p.page.evaluate("""() => Plotly.Fx.hover("pareto", [{curveNumber: 0, pointNumber: 0}])""")
        hover = p.page.evaluate("""() => document.querySelector("#pareto .hoverlayer").textContent""")
        assert "held back by" in hover and "of roofline" in hover and "accuracy loss" in hover and "MPE" in hover
        # filtering by weight bits redraws the front without the W8 points
        n8 = sum(1 for w in _data(swept / "report.html")[1]["sweeps"][0]["points"]["wbits"] if w == 8)
        p.page.click('input[data-key="wbits"][data-value="W8"]')
        p.page.wait_for_function(f"document.getElementById('pareto-count').dataset.shown == '{s['pareto']['size'] - n8}'")
        assert p.page.evaluate(count_points)["pareto"] == s["pareto"]["size"] - n8
        # colouring by board regroups the same points
        p.page.select_option("#colour-by", "device")
        assert p.page.evaluate(count_points)["pareto"] == s["pareto"]["size"] - n8
        # the per-instruction and per-resource breakdowns of the best design are drawn
        assert p.page.locator("#ops-0 .barlayer .point").count() >= 5
        assert p.page.locator("#res-0 .barlayer .point").count() >= 5
        assert p.console_errors == []


def test_report_command_several_sweeps_compare_and_verification(swept, tmp_path, capsys):
    # a second sweep on another board (same space: the U55C has the U280's 32 HBM channels), a GPU comparison file and verification outputs of the best design
    other = tmp_path / "u55c"
    assert main(["sweep", "--quiet", "--jobs", "1", "--device", "u55c", "--space", str(swept.parent / "space.yaml"),
                 "--out", str(other), "--max-accuracy-loss-pct", "inf"]) == 0
    capsys.readouterr()
    out = tmp_path / "both.html"
    assert main(["report", str(swept), str(other), "--out", str(out)]) == 0
    _, data = _data(out)
    sizes = [json.loads((d / "summary.json").read_text())["pareto"]["size"] for d in (swept, other)]
    assert data["plotted"] == sum(sizes) and [s["device"] for s in data["sweeps"]] == ["u280", "u55c"]
    # one DIR: compare.json next to best.json is picked up, csim / verify outputs are shown
    cmp = {"fpga": {"device": "u55c", "decode_tokens_per_s": 30.0, "energy_per_token_j": 1.2, "tokens_per_j": 0.8,
                    "usd_per_mtoken": 2.0, "source": "modelled"},
           "gpus": [{"gpu": "a100-80gb", "decode_tokens_per_s": 70.0, "energy_per_token_j": 3.5, "tokens_per_j": 0.3,
                     "usd_per_mtoken": 2.3, "source": "modelled", "dtype": "fp16", "ratios": {"statement": "x"}}]}
    (other / "compare").mkdir()
    (other / "compare" / "compare.json").write_text(json.dumps(cmp))
    (tmp_path / "csim.json").write_text(json.dumps({"passed": True, "rows": [{"instr": 0, "elements": 10, "mismatches": 0}],
                                                    "final": {}, "summary": {}}))
    (tmp_path / "verify.json").write_text(json.dumps({"passed": False, "sim": "icarus", "note": None,
                                                      "report": {"cycles": 1234, "steps": [{}, {}]},
                                                      "cycle_table": [{"op": "GEMV", "count": 2, "rtl": 100,
                                                                       "model": 95, "error_pct": 5.2}]}))
    assert main(["report", str(other), "--csim", str(tmp_path / "csim.json"),
                 "--verify", str(tmp_path / "verify.json")]) == 0
    _, data = _data(other / "report.html")
    (sw,) = data["sweeps"]
    assert sw["gpu"]["gpus"][0]["gpu"] == "a100-80gb"
    assert sw["verification"]["csim"] == {"passed": True, "instructions": 1, "mismatches": 0, "values": 10}
    assert sw["verification"]["rtl"]["passed"] is False and sw["verification"]["rtl"]["cycles"] == 1234
    capsys.readouterr()


@pytest.mark.parametrize("args,field", [
    (["{a}", "{b}"], "--out"),                        # several sweeps need --out
    (["{empty}"], "DIR"),                             # no sweep in it
    (["{a}", "--csim", "{a}/summary.json"], "--csim"),   # not a csim output
    (["{a}", "--out", "{a}/best.json"], "--out"),        # not ours: needs --force
])
def test_report_errors_one_line(swept, tmp_path, capsys, args, field):
    (tmp_path / "empty").mkdir()
    args = [a.format(a=swept, b=swept, empty=tmp_path / "empty") for a in args]
    before = (swept / "best.json").read_bytes()
    rc = main(["report"] + args)
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"codesign report: error: {field}:") and err.count("\n") == 1, err
    assert (swept / "best.json").read_bytes() == before


def test_bottleneck_per_point_is_capped_for_huge_fronts(swept, monkeypatch):
    from codesign.search import report_data
    monkeypatch.setattr(report_data, "MAX_BOTTLENECK_POINTS", 2)
    b = report_data.load_sweep(swept)["points"]["bottleneck"]
    assert "bound" in b[0] and "bound" in b[1] and all(x.startswith("not computed") for x in b[2:]) and len(b) > 2
