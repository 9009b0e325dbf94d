"""Open-source bitstream flow for the iCEBreaker (Lattice iCE40UP5K-SG48): Yosys -> nextpnr-ice40 -> icepack.

Runs the real tools (Debian packages). Synthesis is done first and its cell counts are checked
against the part; a design that does not fit is refused with what it needs against what the part
has, before place and route is attempted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodesignError

# iCE40UP5K capacity: Lattice FPGA-DS-02008 (iCE40 UltraPlus Family Data Sheet), Table 1.1:
# 5280 LUT4 logic cells (each with one flip-flop), 30 sysMEM EBR of 4 kbit, 4 SPRAM of 256 kbit,
# 8 sysDSP (SB_MAC16) blocks.
UP5K_CAPACITY = {"SB_LUT4": 5280, "SB_DFF": 5280, "SB_RAM40_4K": 30, "SB_SPRAM256KA": 4, "SB_MAC16": 8}

# iCEBreaker v1.0e pin-out (1BitSquared iCEBreaker schematic / icebreaker-examples icebreaker.pcf).
ICEBREAKER_PCF = """# iCEBreaker v1.0e (iCE40UP5K-SG48)
set_io -nowarn clk 35
set_io -nowarn btn_n 10
set_io -nowarn ledr_n 11
set_io -nowarn ledg_n 37
"""
ICEBREAKER_CLOCK_MHZ = 12.0   # on-board oscillator


@dataclass
class Ice40Result:
    cells: dict[str, int]
    fmax_mhz: float
    target_mhz: float
    bitstream: Path
    report: dict


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise CodesignError(f"'{name}' not found on PATH; install Debian packages yosys, nextpnr-ice40, fpga-icestorm",
                            field="--board")
    return path


def _run(cmd: list[str], cwd: Path, log: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CodesignError(f"{Path(cmd[0]).name} failed: {' | '.join(tail)}", field="--board")
    return proc.stdout + proc.stderr


def synth_cells(stat_text: str) -> dict[str, int]:
    """Cell counts from Yosys `stat` output (the top-level totals, last occurrence)."""
    cells: dict[str, int] = {}
    block = stat_text.rsplit("Number of cells:", 1)[-1]
    for name, count in re.findall(r"^\s+(SB_\w+)\s+(\d+)\s*$", block, flags=re.M):
        cells[name] = cells.get(name, 0) + int(count)
    dffs = sum(v for k, v in cells.items() if k.startswith("SB_DFF"))
    cells = {k: v for k, v in cells.items() if not k.startswith("SB_DFF")}
    cells["SB_DFF"] = dffs
    return cells


def check_fit(cells: dict[str, int]) -> None:
    over = [f"{k} {cells.get(k, 0)} > {cap}" for k, cap in UP5K_CAPACITY.items() if cells.get(k, 0) > cap]
    if over:
        raise CodesignError("design does not fit the iCE40UP5K: needs " + ", ".join(over)
                            + " (available: " + ", ".join(f"{k} {v}" for k, v in UP5K_CAPACITY.items()) + ")",
                            field="--board")


def build_bitstream(build: Path, sources: list[Path], top: str, target_mhz: float, seed: int = 1) -> Ice40Result:
    """Synthesize, check fit, place and route, pack. Deterministic for a fixed seed."""
    yosys, nextpnr, icepack = _tool("yosys"), _tool("nextpnr-ice40"), _tool("icepack")
    build.mkdir(parents=True, exist_ok=True)
    (build / "icebreaker.pcf").write_text(ICEBREAKER_PCF)
    reads = " ".join(f"read_verilog -DICE40 {Path(s).resolve()};" for s in sources)
    out = _run([yosys, "-q", "-p", f"{reads} synth_ice40 -top {top} -json {top}.json; tee -o stat.txt stat"],
               build, build / "yosys.log")
    del out
    cells = synth_cells((build / "stat.txt").read_text())
    check_fit(cells)
    _run([nextpnr, "--up5k", "--package", "sg48", "--json", f"{top}.json", "--pcf", "icebreaker.pcf",
          "--asc", f"{top}.asc", "--freq", f"{target_mhz:g}", "--seed", str(seed), "--report", "report.json"],
         build, build / "nextpnr.log")
    _run([icepack, f"{top}.asc", f"{top}.bin"], build, build / "icepack.log")
    report = json.loads((build / "report.json").read_text())
    fmax = min((v.get("achieved", 0.0) for v in report.get("fmax", {}).values()), default=0.0)
    return Ice40Result(cells=cells, fmax_mhz=float(fmax), target_mhz=target_mhz,
                       bitstream=build / f"{top}.bin", report=report)


# LUT cost of the MPE self-test on the UP5K, fitted to Yosys 0.23 `synth_ice40` runs of the generated
# self-test at W4A8 group 32 (2026-11-23): 1x4 -> 1568, 2x4 -> 3126, 2x8 -> 4131 SB_LUT4. Per row ~1070
# (the 64-bit group-scale accumulate and requantize), per W4A8 lane ~125, scaled by the product width.
ICE40_LUT_PER_ROW = 1070
ICE40_LUT_PER_W4A8_LANE = 125


def clock_warnings(fmax_mhz: float, design_mhz: float, board_mhz: float) -> list[str]:
    """Say plainly when the routed tile is slower than the clock the design was modelled at (the
    model's speed figures assume design.hw.freq_mhz) or than the board's oscillator (the bitstream
    would not run as built)."""
    out = []
    if fmax_mhz < design_mhz:
        out.append(f"Fmax {fmax_mhz:.1f} MHz is below the design clock {design_mhz:g} MHz "
                   f"({fmax_mhz / design_mhz:.0%} of it): the model's speed figures for this design do not "
                   "hold on the iCE40UP5K; the tile runs from the board's "
                   f"{board_mhz:g} MHz oscillator")
    if fmax_mhz < board_mhz:
        out.append(f"Fmax {fmax_mhz:.1f} MHz is below the board clock {board_mhz:g} MHz: the bitstream "
                   "is not timing-clean as built")
    return out


def estimate_luts(rows: int, cols: int, wbits: int, abits: int) -> int:
    return int(rows * (ICE40_LUT_PER_ROW + ICE40_LUT_PER_W4A8_LANE * cols * (wbits * abits) / 32))


def precheck(design) -> None:
    """Refuse designs far beyond the part before spending minutes in synthesis (synthesis decides the rest)."""
    hw, q = design.hw, design.quant
    est = estimate_luts(hw.rows, hw.cols, q.wbits, q.abits)
    if est > 1.5 * UP5K_CAPACITY["SB_LUT4"]:
        raise CodesignError(
            f"design does not fit the iCE40UP5K: needs SB_LUT4 {est} > {UP5K_CAPACITY['SB_LUT4']} "
            f"(estimated for an MPE tile of {hw.rows}x{hw.cols} W{q.wbits}A{q.abits}; available: "
            + ", ".join(f"{k} {v}" for k, v in UP5K_CAPACITY.items()) + "); try rows*cols <= 8", field="--board")
