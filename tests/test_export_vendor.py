"""`codesign export` for vendor boards, checked without vendor tools: every TCL script runs under tclsh
with stubbed vendor commands (part, clock, top, files), the connectivity names only real kernel ports,
the XRT host compiles against stand-in headers, the folder is deterministic and has a manifest."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.design import Design, Hardware, Quant
from codesign.export.manifest import verify_manifest
from codesign.gen.ports import hls_kernel_args, rtl_axi_bundles, rtl_top_ports
from codesign.export.tclcheck import run_tcl_stubbed
from codesign.export.writer import control_registers

XRT_STUB = Path(__file__).parent / "data" / "xrt_stub"
QUANT = Quant(wbits=4, abits=8, kvbits=8, group=32)
pytestmark = pytest.mark.xdist_group("export_vendor")


def _design(device: str, wch: int, kvch: int, freq: int = 225) -> Design:
    return Design(model="smollm2-135m", device=device, quant=QUANT,
                  hw=Hardware(rows=8, cols=16, sfu_lanes=4, weight_channels=wch, kv_channels=kvch,
                              port_bits=256, freq_mhz=freq)).validate()


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """SmolLM2-135M layer-0 decode-step golden vectors, written once and shipped by every export."""
    from codesign.vectors import write_vectors
    out = tmp_path_factory.mktemp("vec") / "golden"
    write_vectors(_design("u280", 8, 2), "smollm2-135m", 0, out, context=16)
    return out


def _export(tmp: Path, design: Design, board: str, vectors: Path, name: str) -> Path:
    dj = tmp / f"{name}.json"
    design.save(dj)
    out = tmp / name
    assert main(["export", "--design", str(dj), "--board", board, "--out", str(out), "--vectors", str(vectors)]) == 0
    return out


@pytest.fixture(scope="module")
def u280(tmp_path_factory, vectors):
    return _export(tmp_path_factory.mktemp("u280"), _design("u280", 8, 2), "u280", vectors, "u280")


def test_alveo_folder_has_every_part(u280):
    for rel in ("Makefile", "link.cfg", "link_rtl.cfg", "host/host.cpp", "hls/run_hls.tcl", "rtl/package_xo.tcl",
                "rtl/clock.xdc", "README.md", "MANIFEST.json", "design.json", "data/gmem_w.bin",
                "data/scalars.txt", "data/expected.txt"):
        assert (u280 / rel).is_file(), rel
    mk = (u280 / "Makefile").read_text()
    for target in ("sw_emu hw_emu hw:", "xclbin:", "host:", "run:"):
        assert target in mk
    assert "PLATFORM ?= xilinx_u280_gen3x16_xdma_1_202211_1" in mk
    assert re.search(r"v\+\+ -c -t \$\(TARGET\) --platform \$\(PLATFORM\) -k \$\(KERNEL\)", mk)
    assert re.search(r"v\+\+ -l -t \$\(TARGET\) --platform \$\(PLATFORM\) --config \$\(LINK_CFG\)", mk)
    assert "Vitis 2023.2" in (u280 / "README.md").read_text()
    assert verify_manifest(u280) == []


def test_connectivity_names_only_real_ports_and_follows_channel_plan(u280):
    hls_srcs = sorted((u280 / "hls" / "src").glob("*.cpp"))
    args = hls_kernel_args(hls_srcs, "llm_proc")
    hls_ports = {a.port for a in args if a.kind == "m_axi"}
    rtl_ports = {f"m_axi_{b}" for b in rtl_axi_bundles(
        rtl_top_ports(u280 / "rtl" / "rtl" / "codesign_kernel.v", "codesign_kernel"))}
    for cfg, kernel, ports in (("link.cfg", "llm_proc", hls_ports), ("link_rtl.cfg", "codesign_kernel", rtl_ports)):
        text = (u280 / cfg).read_text()
        sp = re.findall(r"^sp=(\w+)\.(\w+):HBM\[([\d:]+)\]$", text, flags=re.M)
        assert sp and {cu for cu, _, _ in sp} == {f"{kernel}_1"}
        assert {p for _, p, _ in sp} <= ports, (cfg, sp, ports)
        banks = dict((p, b) for _, p, b in sp)
        assert banks["m_axi_gmem_w"] == "0:7" and banks["m_axi_gmem_kv"] == "8:9" and banks["m_axi_gmem_io"] == "10"


def test_run_hls_tcl_under_stubbed_vitis_hls(u280):
    calls = run_tcl_stubbed(u280 / "hls" / "run_hls.tcl")
    flat = [" ".join(c) for c in calls]
    assert any(c[:2] == ["set_top", "llm_proc"] for c in calls)
    assert any(c[0] == "set_part" and "xcu280-fsvh2892-2L-e" in " ".join(c) for c in calls)
    clock = next(c for c in calls if c[0] == "create_clock")
    assert float(clock[clock.index("-period") + 1]) == pytest.approx(1000 / 225, abs=1e-3)
    names = [c[0] for c in calls]
    for step in ("csim_design", "csynth_design", "cosim_design", "export_design"):
        assert step in names, flat
    added = [Path(c[1]).name for c in calls if c[0] == "add_files" and "-tb" not in c]
    assert "llm_proc.cpp" in added


def test_package_xo_tcl_under_stubbed_vivado(u280):
    calls = run_tcl_stubbed(u280 / "rtl" / "package_xo.tcl", [str(u280 / "k.xo")])
    assert calls[0][0] == "create_project" and calls[0][-1] == "xcu280-fsvh2892-2L-e"
    files = [c[-1] for c in calls if c[0] == "add_files"]
    assert files and all(Path(f).is_file() for f in files), [f for f in files if not Path(f).is_file()]
    assert Path(files[-1]).name == "clock.xdc"
    assert "create_clock -period 4.444 -name ap_clk" in Path(files[-1]).read_text()
    assert ["set_property", "top", "codesign_kernel", "<current_fileset>"] in calls
    busifs = [c[c.index("-busif") + 1] for c in calls if c[0] == "ipx::associate_bus_interfaces"]
    assert sorted(busifs) == ["m_axi_gmem_io", "m_axi_gmem_kv", "m_axi_gmem_w", "s_axi_control"]
    pkg = calls[-1]
    assert pkg[0] == "package_xo" and pkg[pkg.index("-kernel_name") + 1] == "codesign_kernel"


def test_register_map_matches_rtl_control_slave(u280):
    """The packaged register map (Vitis HLS layout) is the one hw/rtl/axil_control.v implements."""
    text = (u280 / "rtl" / "rtl" / "axil_control.v").read_text()
    args = hls_kernel_args(sorted((u280 / "hls" / "src").glob("*.cpp")), "llm_proc")
    regs = {name: off for name, off, _, _ in control_registers(args)}
    for name in ("gmem_w", "gmem_kv", "gmem_io", "n_instr"):
        documented = re.search(rf"0x([0-9A-F]{{2}})(?:/0x[0-9A-F]{{2}})?\s+{name}\b", text)
        assert documented, name
        assert int(documented.group(1), 16) == regs[name], (name, hex(regs[name]))


def test_host_program_compiles_against_xrt_standins(u280):
    proc = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                           "-isystem", str(XRT_STUB), str(u280 / "host" / "host.cpp")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    scalars = dict(line.split() for line in (u280 / "data" / "scalars.txt").read_text().splitlines())
    assert int(scalars["n_instr"]) > 10


def test_export_is_deterministic_and_protected(tmp_path, vectors, u280):
    again = _export(tmp_path, _design("u280", 8, 2), "u280", vectors, "again")
    assert (again / "MANIFEST.json").read_bytes() == (u280 / "MANIFEST.json").read_bytes()
    dj = tmp_path / "again.json"
    assert main(["export", "--design", str(dj), "--board", "u280", "--out", str(again),
                 "--vectors", str(vectors)]) == 2
    (again / "Makefile").write_text("tampered")
    assert verify_manifest(again) == ["changed: Makefile"]


def test_embedded_block_design_under_stubbed_vivado(tmp_path, vectors):
    out = _export(tmp_path, _design("zcu102", 1, 1), "zcu102", vectors, "zcu")
    calls = run_tcl_stubbed(out / "vivado" / "bd.tcl")
    assert calls[0][0] == "create_project" and calls[0][-1] == "xczu9eg-ffvb1156-2-e"
    assert ["set_property", "board_part", "xilinx.com:zcu102:part0:3.4", "<current_project>"] in calls
    cells = [c for c in calls if c[0] == "create_bd_cell"]
    assert any("xilinx.com:ip:zynq_ultra_ps_e" in c for c in cells)
    assert any(c[-1] == "kernel" and "codesign_kernel" in c for c in cells)
    files = [c[-1] for c in calls if c[0] == "add_files" and c[-1].endswith(".v") and "system_wrapper" not in c[-1]]
    assert files and all(Path(f).is_file() for f in files)
    assert "launch_runs" in [c[0] for c in calls]


def test_design_for_another_device_is_refused(tmp_path, vectors, capsys):
    dj = tmp_path / "d.json"
    _design("u280", 8, 2).save(dj)
    assert main(["export", "--design", str(dj), "--board", "u55c", "--out", str(tmp_path / "o"),
                 "--vectors", str(vectors)]) == 2
    assert "--board" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_v80_aved_flow_under_stubbed_vivado(tmp_path, vectors):
    out = _export(tmp_path, _design("v80", 8, 2), "v80", vectors, "v80")
    mk = (out / "Makefile").read_text()
    for target in ("sw_emu:", "hw_emu:", "hw:"):
        assert target in mk
    assert "amd_v80_gen5x8_23.2_exdes_2" in mk
    calls = run_tcl_stubbed(out / "vivado" / "aved_add_kernel.tcl")
    files = [c[-1] for c in calls if c[0] == "add_files"]
    assert files and all(Path(f).is_file() for f in files)
    assert any(c[0] == "create_bd_cell" and "codesign_kernel" in c for c in calls)
    noc = next(c for c in calls if c[0] == "set_property" and "CONFIG.NUM_SI" in " ".join(c))
    assert "CONFIG.HBM_NUM_CHNL 10" in " ".join(noc)
    pkg = run_tcl_stubbed(out / "rtl" / "package_xo.tcl")
    assert pkg[0][-1] == "xcv80-lsva4737-2MHP-e-S"
    assert verify_manifest(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("quant", [dict(mixed=2, hi_wbits=8), dict(sparsity="2:4")], ids=["w4w8", "2of4"])
def test_mixed_and_sparse_designs_export(tmp_path, quant):
    """The levers the generators build (issue 16): a per-layer mixed-precision design and an N:M sparse
    design export for u280 with the hardware that runs them (the RTL kernel's WBITS_HI / NM_N, NM_M
    parameters, weight_beat.v among the packaged files, the HLS header's modes) and golden vectors whose
    GEMVs use them (wbits 8 on the raised FFN of layer 0; a sparse weight stream)."""
    import numpy as np

    from codesign.isa.encoding import decode

    d = _design("u280", 8, 2)
    d = Design(model=d.model, device=d.device, quant=Quant(wbits=4, abits=8, kvbits=8, group=32, **quant),
               hw=d.hw).validate()
    dj = tmp_path / "d.json"
    d.save(dj)
    out = tmp_path / "u280"
    assert main(["export", "--design", str(dj), "--board", "u280", "--out", str(out)]) == 0
    kernel = (out / "rtl" / "rtl" / "codesign_kernel.v").read_text()
    header = next((out / "hls").rglob("codesign_config.h")).read_text()
    if "mixed" in quant:
        assert re.search(r"parameter integer WBITS_HI\s*=\s*8,", kernel)
        assert "static const int WBITS_HI = 8;" in header
        words = np.fromfile(out / "data" / "gmem_io.bin", dtype="<u4")
        instrs = decode(words[:16 * 17])
        assert {i.layer_op: i.wbits for i in instrs if i.op == "GEMV"}["ffn_gate"] == 8
    else:
        assert re.search(r"parameter integer NM_M\s*=\s*4,", kernel)
        assert "static const int NM_M = 4;" in header
    calls = run_tcl_stubbed(out / "rtl" / "package_xo.tcl", [str(out / "k.xo")])
    assert "weight_beat.v" in {Path(c[-1]).name for c in calls if c[0] == "add_files"}
    assert verify_manifest(out) == []
