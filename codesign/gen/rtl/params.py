"""HDL parameters of the processor core, taken from design.json and nothing else.

One function maps a ``Design`` to the Verilog parameters of ``codesign_core`` (hw/rtl); emit-rtl,
synth and verify all call it, so a parameter is derived in exactly one place.
"""

from __future__ import annotations

from ...design import Design
from ...errors import CodesignError

# Unsigned mantissa width of a per-group weight scale (numerics contract: "per-group scale as an
# unsigned integer mantissa SCALE_BITS bits"); taken from codesign.quant.numerics when present.
DEFAULT_SCALE_BITS = 16


def scale_bits() -> int:
    try:
        from ...quant import numerics  # golden helper's module (docs/NUMERICS.md)
    except ImportError:
        return DEFAULT_SCALE_BITS
    return int(getattr(numerics, "SCALE_BITS", DEFAULT_SCALE_BITS))


def core_params(design: Design) -> dict[str, int]:
    """Verilog parameters of codesign_core for a design point (names as in hw/rtl/codesign_core.v)."""
    q, hw = design.quant, design.hw
    if q.group % hw.cols and hw.cols % q.group:
        raise CodesignError(f"cols={hw.cols} and group={q.group}: one must divide the other "
                            "(the MPE closes groups on beat boundaries)", field="hw.cols")
    return {
        "ROWS": hw.rows,
        "COLS": hw.cols,
        "WBITS": q.wbits,
        "ABITS": q.abits,
        "KVBITS": q.kvbits,
        "GROUP": q.group,
        "ZP": int(q.zero_point),
        "SCALE_BITS": scale_bits(),
        "SFU_LANES": hw.sfu_lanes,
        "WBUF_DEPTH": hw.wbuf_depth,
        "ABUF_DEPTH": hw.abuf_depth,
        "KVBUF_DEPTH": hw.kvbuf_depth,
        "PORT_BITS": hw.port_bits,
    }


def mpe_params(design: Design) -> dict[str, int]:
    p = core_params(design)
    return {k: p[k] for k in ("ROWS", "COLS", "WBITS", "ABITS", "GROUP", "SCALE_BITS", "ZP")}
