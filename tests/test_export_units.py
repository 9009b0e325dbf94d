"""Export building blocks, each on its own: ports parser, bank plan, TCL under stubbed vendor
commands, the XRT host against stand-in headers, the manifest, and the iCE40 fit check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codesign.design import Design, Hardware
from codesign.errors import CodesignError
from codesign.export import ice40, vitis, vivado
from codesign.export.boards import BOARDS, get_board
from codesign.export.manifest import build_manifest, verify_manifest
from codesign.export.memory_plan import plan_banks
from codesign.gen.ports import KernelArg, hls_kernel_args, rtl_axi_bundles, rtl_top_ports
from codesign.export.sanitize import identifier, relative_file
from codesign.export.tclcheck import run_tcl_stubbed

XRT_STUB = Path(__file__).parent / "data" / "xrt_stub"

KERNEL_SRC = """
#include "config.h"
// void codesign_top(int ignored) { }   <- a comment must not be taken for the top
extern "C" void codesign_top(const ap_uint<512>* w, ap_uint<512>* kv, ap_uint<512>* io,
                             unsigned n_instr) {
#pragma HLS INTERFACE m_axi port=w bundle=gmem_w offset=slave max_read_burst_length=64
#pragma HLS INTERFACE mode=m_axi port=kv bundle=gmem_kv offset=slave
#pragma HLS INTERFACE m_axi port=io bundle=gmem_io offset=slave
#pragma HLS INTERFACE s_axilite port=n_instr
#pragma HLS INTERFACE s_axilite port=return
}
"""

RTL_TOP = """
module codesign_top #(parameter ROWS = 4) (
    input  wire ap_clk, input wire ap_rst_n,
    input  wire s_axi_control_AWVALID,
    output wire m_axi_gmem_w_ARVALID, input wire m_axi_gmem_w_ARREADY,
    output wire [63:0] m_axi_gmem_w_ARADDR, input wire [511:0] m_axi_gmem_w_RDATA,
    output wire m_axi_gmem_kv_AWVALID, output wire m_axi_gmem_io_WVALID
);
endmodule
"""


def _design(**hw) -> Design:
    return Design(model="llama2-7b", device="u280", hw=Hardware(**hw)).validate()


def test_hls_args_parsed_in_signature_order(tmp_path):
    src = tmp_path / "k.cpp"
    src.write_text(KERNEL_SRC)
    args = hls_kernel_args([src], "codesign_top")
    assert [(a.name, a.kind, a.bundle) for a in args] == [
        ("w", "m_axi", "gmem_w"), ("kv", "m_axi", "gmem_kv"), ("io", "m_axi", "gmem_io"),
        ("n_instr", "scalar", "")]
    assert args[0].port == "m_axi_gmem_w"


def test_hls_args_missing_pragma_is_an_error(tmp_path):
    src = tmp_path / "k.cpp"
    src.write_text(KERNEL_SRC.replace("#pragma HLS INTERFACE s_axilite port=n_instr\n", ""))
    with pytest.raises(CodesignError, match="n_instr"):
        hls_kernel_args([src], "codesign_top")


def test_rtl_bundles_from_port_list(tmp_path):
    v = tmp_path / "top.v"
    v.write_text(RTL_TOP)
    ports = rtl_top_ports(v, "codesign_top")
    assert ("input", "", "ap_clk") in ports
    assert rtl_axi_bundles(ports) == ["gmem_w", "gmem_kv", "gmem_io"]


def test_bank_plan_follows_channel_plan():
    args = [KernelArg("w", "", "m_axi", "gmem_w"), KernelArg("kv", "", "m_axi", "gmem_kv"),
            KernelArg("io", "", "m_axi", "gmem_io"), KernelArg("n", "unsigned", "scalar", "")]
    plan = plan_banks(_design(weight_channels=16, kv_channels=4), get_board("u280"), args)
    assert [(p.port, p.first, p.last) for p in plan] == [
        ("m_axi_gmem_w", 0, 15), ("m_axi_gmem_kv", 16, 19), ("m_axi_gmem_io", 20, 20)]
    cfg = vitis.link_cfg("codesign_top", get_board("u280"), plan)
    assert "sp=codesign_top_1.m_axi_gmem_w:HBM[0:15]" in cfg
    assert "sp=codesign_top_1.m_axi_gmem_io:HBM[20]" in cfg
    # Several weight ports each get their own contiguous slice.
    wargs = [KernelArg(f"w{i}", "", "m_axi", f"gmem_w{i}") for i in range(4)] + args[1:]
    plan = plan_banks(_design(weight_channels=8, kv_channels=2), get_board("u280"), wargs)
    assert [(p.first, p.last) for p in plan if p.role == "weights"] == [(0, 1), (2, 3), (4, 5), (6, 7)]


def test_bank_plan_refuses_more_channels_than_banks():
    args = [KernelArg("w", "", "m_axi", "gmem_w")]
    with pytest.raises(CodesignError, match="hw.weight_channels"):
        plan_banks(_design(weight_channels=4, kv_channels=2), get_board("u250"), args)


def test_package_xo_tcl_runs_under_stubbed_vivado(tmp_path):
    board = get_board("u280")
    tcl = tmp_path / "package_xo.tcl"
    tcl.write_text(vivado.package_xo_tcl("codesign_top", board, ["codesign_top.v", "mpe.v"],
                                         ["gmem_w", "gmem_io"],
                                         [("CTRL", 0x0, 32, ""), ("w", 0x10, 64, "gmem_w")]))
    calls = run_tcl_stubbed(tcl, [str(tmp_path / "out.xo")])
    names = [c[0] for c in calls]
    assert names[0] == "create_project" and calls[0][-2:] == ["-part", "xcu280-fsvh2892-2L-e"]
    added = [c[-1] for c in calls if c[0] == "add_files"]
    assert [Path(a).name for a in added] == ["codesign_top.v", "mpe.v", "clock.xdc"]
    assert ["set_property", "top", "codesign_top", "<current_fileset>"] in calls
    pkg = calls[-1]
    assert pkg[0] == "package_xo" and pkg[pkg.index("-kernel_name") + 1] == "codesign_top"
    assert pkg[pkg.index("-xo_path") + 1] == str(tmp_path / "out.xo")
    assert names.index("ipx::package_project") < names.index("package_xo")


def test_stubbed_tcl_reports_syntax_errors(tmp_path):
    bad = tmp_path / "bad.tcl"
    bad.write_text("create_project p . -part $undefined_variable\n")
    with pytest.raises(CodesignError, match="undefined_variable"):
        run_tcl_stubbed(bad)


def test_clock_xdc_uses_design_clock():
    assert "create_clock -period 4.444 -name ap_clk [get_ports ap_clk]" in vivado.clock_xdc(_design(freq_mhz=225))


def test_host_program_compiles_against_xrt_standins(tmp_path):
    args = [KernelArg("w", "const ap_uint<512>*", "m_axi", "gmem_w"),
            KernelArg("io", "ap_uint<512>*", "m_axi", "gmem_io"),
            KernelArg("n_instr", "unsigned int", "scalar", "")]
    host = tmp_path / "host.cpp"
    host.write_text(vitis.host_cpp("codesign_top", args))
    proc = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                           "-isystem", str(XRT_STUB), str(host)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = host.read_text()
    assert "xrt::kernel kernel(device, uuid, name)" in text and "\"codesign_top\"" in text
    assert "kernel(bo_w, bo_io, n_instr)" in text


def test_manifest_detects_changes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("one")
    (tmp_path / "y.bin").write_bytes(b"\0\1")
    (tmp_path / "MANIFEST.json").write_text(build_manifest(tmp_path, {"board": "u280"}))
    assert verify_manifest(tmp_path) == []
    (tmp_path / "a" / "x.txt").write_text("two")
    (tmp_path / "z").write_text("new")
    (tmp_path / "y.bin").unlink()
    assert sorted(verify_manifest(tmp_path)) == ["changed: a/x.txt", "missing: y.bin", "unlisted: z"]


def test_sanitizers():
    assert identifier("llama2-7b; rm -rf /", "model") == "llama2_7b__rm__rf__"
    assert identifier("7b", "model") == "_7b"
    with pytest.raises(CodesignError, match="design.file"):
        relative_file("../etc/passwd", "design.file")
    with pytest.raises(CodesignError):
        relative_file("/abs", "design.file")
    assert relative_file("src/k.cpp", "f") == "src/k.cpp"


def test_unknown_board_lists_allowed():
    with pytest.raises(CodesignError, match="--board.*allowed: .*icebreaker.*u280"):
        get_board("u999")


def test_ice40_fit_check_names_needs_and_capacity():
    cells = {"SB_LUT4": 9000, "SB_DFF": 100, "SB_MAC16": 12}
    with pytest.raises(CodesignError, match=r"SB_LUT4 9000 > 5280.*SB_MAC16 12 > 8"):
        ice40.check_fit(cells)
    ice40.check_fit({"SB_LUT4": 100, "SB_MAC16": 2})


def test_ice40_stat_parser():
    stat = """
=== top ===
   Number of cells:                327
     SB_CARRY                       32
     SB_DFF                         30
     SB_DFFE                        10
     SB_LUT4                       255
     SB_MAC16                        2
"""
    assert ice40.synth_cells(stat) == {"SB_CARRY": 32, "SB_LUT4": 255, "SB_MAC16": 2, "SB_DFF": 40}


def test_every_board_reads_its_silicon_from_the_device_database():
    from codesign.devices import get_device
    for b in BOARDS.values():
        if b.flow == "ice40":
            assert b.part == "iCE40UP5K-SG48" and b.platform is None
            continue
        assert b.own_part is None, b.name
        dev = get_device(b.device)
        assert b.part == dev.part and b.platform == (dev.platform or None), b.name
        if b.flow == "ecp5":         # open flow: the part from the database, no platform or board part
            assert b.part == "LFE5U-85F-6BG381C" and b.platform is None and b.board_part is None
            continue
        # a Vitis (alveo) or AVED flow needs a platform; a Zynq block design needs a board part
        assert b.platform if b.flow in ("alveo", "aved") else b.board_part, b.name
