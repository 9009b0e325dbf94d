"""``codesign export``: one folder a user hands to the vendor tools, from one design.json.

Pipeline: emit the HLS project and the RTL (the same generators ``emit-hls``/``emit-rtl`` use),
read the kernel's real ports back from those sources, plan memory banks from the design's
channel plan, write the board's flow files, then a manifest of every file with its hash. The
whole folder is staged and renamed into place at the end (nothing half-written), and the
output is byte-identical for the same input.
"""

from __future__ import annotations

from pathlib import Path

from ..design import Design
from ..errors import CodesignError
from ..fsutil import atomic_output_dir, dumps_json
from . import ice40, vitis, vivado
from .boards import Board, get_board
from .manifest import MANIFEST, build_manifest
from .memory_plan import plan_banks
from .ports import hls_kernel_args, rtl_axi_bundles, rtl_top_ports

TOP = "codesign_top"


def _write(root: Path, rel: str, text: str | bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        p.write_text(text)
    else:
        p.write_bytes(text)


def _check_board_matches_device(design: Design, board: Board) -> None:
    """The design was sized for one device; exporting it to another would build a different design."""
    if board.flow == "ice40":
        return
    if design.device.lower() != board.device:
        raise CodesignError(f"design.json was chosen for device '{design.device}', not '{board.name}'; "
                            f"allowed: --board {design.device} (or re-run the sweep for {board.name})",
                            field="--board")
    try:
        from ..devices import get_device
        dev = get_device(design.device)
    except (ImportError, CodesignError):
        return
    part = getattr(dev, "part", None)
    if part and part.lower() != board.part.lower():
        raise CodesignError(f"part mismatch: device database says {part}, export table says {board.part}",
                            field="--board")


def export_project(design: Design, board_name: str, out: str | Path, force: bool = False) -> dict:
    """Write the export folder; return a summary (files, board, flow, bank plan)."""
    board = get_board(board_name)
    design.validate()
    _check_board_matches_device(design, board)
    with atomic_output_dir(out, force=force) as root:
        _write(root, "design.json", dumps_json(design.to_dict()))
        if board.flow == "ice40":
            summary = _export_ice40(design, board, root)
        else:
            summary = _export_vendor(design, board, root)
        meta = {"board": board.name, "flow": board.flow, "top": TOP, "design_model": design.model}
        _write(root, MANIFEST, build_manifest(root, meta))
    return summary


def _emit_generators(design: Design, root: Path) -> tuple[list[str], list[str]]:
    """HLS project into hls/, RTL into rtl/; return (HLS kernel sources, RTL sources), relative."""
    from ..gen.hls import emit_hls_project
    from ..gen.rtl import emit_rtl_project
    hls_dir, rtl_dir = root / "hls", root / "rtl"
    emit_hls_project(design, hls_dir)
    emit_rtl_project(design, rtl_dir)
    hls_srcs = sorted(p.relative_to(root).as_posix() for p in (hls_dir / "src").glob("*.cpp"))
    rtl_srcs = sorted(p.relative_to(rtl_dir).as_posix() for p in rtl_dir.rglob("*.v"))
    return hls_srcs, rtl_srcs


def _export_vendor(design: Design, board: Board, root: Path) -> dict:
    hls_srcs, rtl_srcs = _emit_generators(design, root)
    args = hls_kernel_args([root / s for s in hls_srcs] + sorted((root / "hls" / "src").glob("*.h")), TOP)
    rtl_top = root / "rtl" / f"{TOP}.v"
    rtl_bundles = rtl_axi_bundles(rtl_top_ports(rtl_top, TOP))
    hls_bundles = sorted({a.bundle for a in args if a.kind == "m_axi"})
    if sorted(rtl_bundles) != hls_bundles:
        raise CodesignError(f"HLS kernel bundles {hls_bundles} differ from RTL top bundles {sorted(rtl_bundles)}",
                            field="rtl.top")
    _write(root, "rtl/clock.xdc", vivado.clock_xdc(design))
    summary = {"board": board.name, "flow": board.flow, "part": board.part, "platform": board.platform,
               "kernel_args": [a.__dict__ for a in args]}
    if board.flow == "alveo":
        plan = plan_banks(design, board, args)
        _write(root, "link.cfg", vitis.link_cfg(TOP, board, plan))
        _write(root, "Makefile", vitis.makefile(TOP, board, design, hls_srcs))
        _write(root, "host/host.cpp", vitis.host_cpp(TOP, args))
        summary["banks"] = [pb.__dict__ for pb in plan]
    if board.flow in ("alveo", "aved"):
        from ..gen.rtl import control_registers
        _write(root, "rtl/package_xo.tcl",
               vivado.package_xo_tcl(TOP, board, rtl_srcs, rtl_bundles, control_registers(design)))
    if board.flow == "aved":
        _write(root, "vivado/aved_add_kernel.tcl", vivado.aved_tcl(TOP, board, design, rtl_bundles, rtl_srcs))
    if board.flow == "zynqmp":
        _write(root, "vivado/bd.tcl", vivado.embedded_bd_tcl(TOP, board, design, rtl_bundles, rtl_srcs))
    _write(root, "README.md", _readme(design, board, summary))
    return summary


def _export_ice40(design: Design, board: Board, root: Path) -> dict:
    from .ice40_selftest import emit_selftest
    ice40.precheck(design)
    sources, top, target_mhz = emit_selftest(design, root / "rtl")
    result = ice40.build_bitstream(root / "build", sources, top, target_mhz)
    report = {"board": board.name, "part": board.part, "top": top, "cells": result.cells,
              "capacity": ice40.UP5K_CAPACITY, "fmax_mhz": round(result.fmax_mhz, 2),
              "target_mhz": target_mhz, "design_freq_mhz": design.hw.freq_mhz,
              "meets_design_clock": result.fmax_mhz >= design.hw.freq_mhz,
              "meets_board_clock": result.fmax_mhz >= ice40.ICEBREAKER_CLOCK_MHZ}
    _write(root, "report.json", dumps_json(report))
    _write(root, "README.md", _readme(design, board, report))
    return report


def _readme(design: Design, board: Board, summary: dict) -> str:
    q, hw = design.quant, design.hw
    head = (f"# codesign export: {design.model} on {board.name}\n\n"
            f"Design: W{q.wbits}A{q.abits} KV{q.kvbits} group {q.group}, MPE {hw.rows}x{hw.cols}, "
            f"{hw.freq_mhz} MHz, {hw.weight_channels} weight + {hw.kv_channels} KV channels.\n"
            f"Part `{board.part}`. Source of the board facts: {board.source}.\n\n"
            f"`MANIFEST.json` lists every file with its SHA-256; `design.json` is the design point.\n\n")
    if board.flow == "alveo":
        return head + (
            f"## Build (Vitis {vitis.VITIS_VERSION}, XRT {vitis.XRT_VERSION}, platform `{board.platform}`)\n\n"
            "```bash\nsource /tools/Xilinx/Vitis/2023.2/settings64.sh && source /opt/xilinx/xrt/setup.sh\n"
            "make sw_emu && make run TARGET=sw_emu   # software emulation of the HLS kernel\n"
            "make hw_emu && make run TARGET=hw_emu   # RTL emulation\n"
            "make hw && make run TARGET=hw           # bitstream (xclbin) and a decode step on the card\n"
            "make RTL=1 hw                           # the Verilog kernel instead (packaged by rtl/package_xo.tcl)\n"
            "```\n\n"
            "`link.cfg` maps every kernel port to the memory banks of the design's channel plan. "
            "`host/host.cpp` (XRT native API) loads weights, instructions and inputs from `data/`, runs one "
            "decode step and compares the outputs with the golden vectors.\n")
    if board.flow == "aved":
        return head + (
            f"## Build (Vivado {vivado.VIVADO_VERSION}, AMD AVED `{board.platform}`)\n\n"
            "The V80 has no Vitis XRT platform; its flow is Vivado with the AVED example design.\n\n"
            "```bash\nvitis_hls -f hls/run_hls.tcl            # C-simulation, synthesis, co-simulation of the kernel\n"
            "vivado -mode batch -source <aved>/hw/" f"{board.platform}" "/src/create_design.tcl "
            "-source vivado/aved_add_kernel.tcl\n```\n")
    if board.flow == "zynqmp":
        return head + (
            f"## Build (Vivado {vivado.VIVADO_VERSION}, board part `{board.board_part}`)\n\n"
            "```bash\nvitis_hls -f hls/run_hls.tcl              # optional: the HLS kernel as IP\n"
            "vivado -mode batch -source vivado/bd.tcl   # PS + kernel block design -> bitstream + .xsa\n```\n")
    return head + (
        "## Open-source bitstream (Yosys, nextpnr-ice40, icepack)\n\n"
        f"`build/{summary['top']}.bin` is the bitstream (`iceprog build/{summary['top']}.bin`). "
        f"`report.json` gives the cells used against the part and Fmax {summary['fmax_mhz']} MHz "
        f"against the design clock {summary['design_freq_mhz']} MHz.\n")
