"""HDL parameters of the processor core: the Verilog view of ``gen.template.template_params``.

emit-rtl, synth and verify all call ``core_params``; the values come from the one mapper shared with
the HLS headers and the iCE40 self-test (codesign/gen/template.py), so a parameter is derived in
exactly one place.
"""

from __future__ import annotations

from ...design import Design
from ..template import VERIFY_MODEL, template_params

AXIL_ADDR_BITS = 7   # s_axi_control address width: registers up to 0x44 (hw/rtl/axil_control.v)

# The parameters codesign_top takes (hw/rtl/codesign_top.v), in its order.
CORE_PARAMS = ("ROWS", "COLS", "WBITS", "WBITS_HI", "ABITS", "KVBITS", "GROUP", "ZP", "NM_N", "NM_M", "SCALE_BITS", "SFU_LANES",
               "WBUF_DEPTH", "ABUF_DEPTH", "KVBUF_DEPTH", "PORT_BITS", "MAX_HD", "MAX_REP")
MPE_PARAMS = ("ROWS", "COLS", "WBITS", "ABITS", "GROUP", "SCALE_BITS", "ZP", "NM_N", "NM_M")

__all__ = ["AXIL_ADDR_BITS", "VERIFY_MODEL", "core_params", "mpe_params", "weight_beat_params"]


def core_params(design: Design) -> dict[str, int]:
    """Verilog parameters of codesign_top for a design point (names as in hw/rtl/codesign_top.v)."""
    p = template_params(design)
    return {**{k: p[k] for k in CORE_PARAMS}, "C_S_AXI_CONTROL_ADDR_WIDTH": AXIL_ADDR_BITS}


def mpe_params(design: Design) -> dict[str, int]:
    """Verilog parameters of mpe.v as the core instantiates it: lanes as wide as the wider weight mode
    (codesign_core.v WM; a mixed-precision build's WBITS_HI)."""
    p = template_params(design)
    return {**{k: p[k] for k in MPE_PARAMS}, "WBITS": max(p["WBITS"], p["WBITS_HI"])}


WBEAT_PARAMS = ("ROWS", "COLS", "WBITS", "WBITS_HI", "ZP", "NM_M")


def weight_beat_params(design: Design) -> dict[str, int]:
    """Verilog parameters of weight_beat.v (the MPE's beat at the GEMV's weight mode)."""
    p = template_params(design)
    return {k: p[k] for k in WBEAT_PARAMS}
