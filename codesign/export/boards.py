"""Export targets: what a vendor flow needs to know about a board beyond the device database.

The device database (``codesign.devices``) owns the silicon: part number, Vitis platform,
resources, memory. This table owns the *flow*: which tool chain builds for the board, the Vivado
board part, and the names of the memory banks a connectivity file may use. Each entry names its
source. ``part`` and ``platform`` are read from the device database, never copied here; only a board
whose silicon the database does not model (the iCE40 self-test target) carries its own part.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CodesignError


@dataclass(frozen=True)
class Board:
    name: str
    flow: str                 # "alveo" (Vitis v++ -c/-l + XRT), "aved" (Versal V80, Vivado + AVED),
                              # "zynqmp" (Vivado block design + Zynq UltraScale+ PS), "ice40" and "ecp5"
                              # (open source: Yosys + nextpnr)
    device: str               # key into codesign.devices for the silicon
    board_part: str | None    # Vivado board part for block designs
    mem_tag: str              # connectivity sptag: "HBM", "DDR" or "" (no Vitis linking)
    mem_banks: int            # banks the sptag indexes
    source: str
    own_part: str | None = None   # only for silicon outside the device database (iCE40)

    @property
    def part(self) -> str:
        """Vendor part number, from the device database."""
        return self.own_part or _device(self.device).part

    @property
    def platform(self) -> str | None:
        """Vitis platform (XPFM) name, or the AVED VBNV for V80, from the device database."""
        return None if self.own_part else (_device(self.device).platform or None)


def _device(name: str):
    from ..devices import get_device   # lazy: the device database loads YAML
    return get_device(name)


BOARDS: dict[str, Board] = {
    "u280": Board(
        "u280", "alveo", "u280", None,
        "HBM", 32,
        "AMD UG1120 Alveo U280 platforms (gen3x16_xdma_1 202211_1: HBM[0:31] + DDR[0:1]); part from DS963"),
    "u55c": Board(
        "u55c", "alveo", "u55c", None,
        "HBM", 32,
        "AMD UG1468 Alveo U55C card installation guide (platform gen3x16_xdma_3 202210_1, HBM[0:31])"),
    "u250": Board(
        "u250", "alveo", "u250", None,
        "DDR", 4,
        "AMD UG1120 Alveo U250 platforms (gen3x16_xdma_4_1 202210_1: DDR[0:3])"),
    "v80": Board(
        "v80", "aved", "v80", None,
        "", 0,
        "AMD AVED V80 documentation (xilinx.github.io/AVED, amd_v80_gen5x8_exdes_2): Vivado block "
        "design flow, HBM reached through the NoC; no Vitis XRT platform"),
    "zcu102": Board(
        "zcu102", "zynqmp", "zcu102", "xilinx.com:zcu102:part0:3.4",
        "", 0, "AMD UG1182 ZCU102 evaluation board user guide; Vivado board store zcu102 3.4"),
    "kv260": Board(
        "kv260", "zynqmp", "kv260", "xilinx.com:kv260_som:part0:1.4",
        "", 0, "AMD UG1089 Kria KV260 starter kit user guide; Vivado board store kv260_som 1.4"),
    "ulx3s": Board(
        "ulx3s", "ecp5", "ulx3s", None, "", 0,
        "Radiona ULX3S v3.0.x: Lattice LFE5U-85F-6BG381C, 25 MHz oscillator on G2, LEDs on B2 C2 C1 D2 D1 E2 E1 "
        "H3 (emard/ulx3s doc/constraints/ulx3s_v20.lpf); chosen because its constraints and schematic are "
        "public and it carries the largest ECP5 (85k LUT4) the open flow supports"),
    "icebreaker": Board(
        "icebreaker", "ice40", "ice40up5k", None, "", 0,
        "1BitSquared iCEBreaker v1.0e: Lattice iCE40UP5K-SG48, 12 MHz oscillator on pin 35 "
        "(Lattice FPGA-DS-02008 iCE40 UltraPlus family data sheet)", own_part="iCE40UP5K-SG48"),
}


def get_board(name: str) -> Board:
    key = name.strip().lower()
    if key not in BOARDS:
        raise CodesignError(f"unknown board {name!r}; allowed: {', '.join(sorted(BOARDS))}", field="--board")
    return BOARDS[key]
