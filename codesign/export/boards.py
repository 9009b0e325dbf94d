"""Export targets: what a vendor flow needs to know about a board beyond the device database.

The device database (``codesign.devices``) owns the silicon (part number, resources, memory).
This table owns the *flow*: which tool chain builds for the board, the Vitis platform or the
Vivado board part, and the names of the memory banks a connectivity file may use. Each entry
names its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CodesignError


@dataclass(frozen=True)
class Board:
    name: str
    flow: str                 # "alveo" (Vitis v++ -c/-l + XRT), "aved" (Versal V80, Vivado + AVED),
                              # "zynqmp" (Vivado block design + Zynq UltraScale+ PS), "ice40" (open source)
    device: str               # key into codesign.devices for the silicon
    part: str                 # vendor part number (also in the device database; checked by a test)
    platform: str | None      # Vitis platform (XPFM) name, or the AVED VBNV for V80
    board_part: str | None    # Vivado board part for block designs
    mem_tag: str              # connectivity sptag: "HBM", "DDR" or "" (no Vitis linking)
    mem_banks: int            # banks the sptag indexes
    source: str


BOARDS: dict[str, Board] = {
    "u280": Board(
        "u280", "alveo", "u280", "xcu280-fsvh2892-2L-e", "xilinx_u280_gen3x16_xdma_1_202211_1", None,
        "HBM", 32,
        "AMD UG1120 Alveo U280 platforms (gen3x16_xdma_1 202211_1: HBM[0:31] + DDR[0:1]); part from DS963"),
    "u55c": Board(
        "u55c", "alveo", "u55c", "xcu55c-fsvh2892-2L-e", "xilinx_u55c_gen3x16_xdma_3_202210_1", None,
        "HBM", 32,
        "AMD UG1468 Alveo U55C card installation guide (platform gen3x16_xdma_3 202210_1, HBM[0:31])"),
    "u250": Board(
        "u250", "alveo", "u250", "xcu250-figd2104-2L-e", "xilinx_u250_gen3x16_xdma_4_1_202210_1", None,
        "DDR", 4,
        "AMD UG1120 Alveo U250 platforms (gen3x16_xdma_4_1 202210_1: DDR[0:3])"),
    "v80": Board(
        "v80", "aved", "v80", "xcv80-lsva4737-2MHP-e-S", "amd_v80_gen5x8_23.2_exdes_2", None,
        "", 0,
        "AMD AVED V80 documentation (xilinx.github.io/AVED, amd_v80_gen5x8_exdes_2): Vivado block "
        "design flow, HBM reached through the NoC; no Vitis XRT platform"),
    "zcu102": Board(
        "zcu102", "zynqmp", "zcu102", "xczu9eg-ffvb1156-2-e", None, "xilinx.com:zcu102:part0:3.4",
        "", 0, "AMD UG1182 ZCU102 evaluation board user guide; Vivado board store zcu102 3.4"),
    "kv260": Board(
        "kv260", "zynqmp", "kv260", "xck26-sfvc784-2LV-c", None, "xilinx.com:kv260_som:part0:1.4",
        "", 0, "AMD UG1089 Kria KV260 starter kit user guide; Vivado board store kv260_som 1.4"),
    "icebreaker": Board(
        "icebreaker", "ice40", "ice40up5k", "iCE40UP5K-SG48", None, None, "", 0,
        "1BitSquared iCEBreaker v1.0e: Lattice iCE40UP5K-SG48, 12 MHz oscillator on pin 35 "
        "(Lattice FPGA-DS-02008 iCE40 UltraPlus family data sheet)"),
}


def get_board(name: str) -> Board:
    key = name.strip().lower()
    if key not in BOARDS:
        raise CodesignError(f"unknown board {name!r}; allowed: {', '.join(sorted(BOARDS))}", field="--board")
    return BOARDS[key]
