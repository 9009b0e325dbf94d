"""The processor template's build parameters, taken from design.json and nothing else.

``template_params(design)`` is the one mapper from a ``Design`` to the hardware's parameters: the
RTL (gen/rtl/params.py: Verilog parameters of codesign_top), the HLS headers (gen/hls/headers.py:
codesign_config.h) and the iCE40 self-test (export/ice40_selftest.py) all read it, so a parameter
is derived in exactly one place and the three cannot disagree on a tile shape or a bit-width.
"""

from __future__ import annotations

import math

from ..design import Design
from ..errors import CodesignError
from ..quant.numerics import SCALE_BITS   # the numerics contract owns the scale width
from ..workload.config import load_model_config

# The regression layer every build must also run (`codesign verify`, the C-simulation):
# SmolLM2-135M, head_dim 64, 9 query heads over 3 KV heads (codesign.workload preset).
VERIFY_MODEL = "smollm2-135m"


def check_tiles(design: Design) -> None:
    """The MPE closes groups on beat boundaries: one of COLS, GROUP divides the other
    (docs/NUMERICS.md, packed matrix)."""
    cols, group = design.hw.cols, design.quant.group
    if cols % group and group % cols:
        raise CodesignError(f"cols={cols} and group={group}: one must divide the other "
                            "(the MPE closes groups on beat boundaries)", field="hw.cols")


def lane_blocks(lanes: int, group: int) -> int:
    """Most blocks of ``group`` consecutive inputs that one beat of ``lanes`` elements (starting at a
    multiple of ``lanes``) touches: the quantizer's block-exponent buffer needs that many ports."""
    step = math.gcd(lanes, group)
    return max((o + lanes - 1) // group + 1 for o in range(0, group, step))


def attention_limits(design: Design) -> tuple[int, int]:
    """(largest head_dim, largest query heads per KV head) the attention unit must hold: the design's
    model and the regression layer (SmolLM2-135M) both run on every build."""
    hd, rep = 0, 1
    for name in (design.model, VERIFY_MODEL):
        try:
            cfg = load_model_config(name)
        except CodesignError:
            continue
        hd = max(hd, cfg.head_dim)
        rep = max(rep, cfg.n_heads // max(cfg.n_kv_heads, 1))
    return hd, rep


def template_params(design: Design) -> dict[str, int]:
    """Every build parameter of the processor for a design point (names as in hw/rtl/codesign_top.v;
    HLS and the self-test use the same names)."""
    check_tiles(design)
    q, hw = design.quant, design.hw
    if hw.kv_channels == 0:
        # the analytical model prices unified memory (KV interleaved over the weight channels, ATTN on
        # the MPE); the generated processor has its own KV port and attention row unit
        raise CodesignError("got 0 (unified memory: modelled only; the generated HLS and RTL read the KV cache "
                            "through their own port and attention unit); allowed: an integer in [1, 64]",
                            field="hw.kv_channels")
    modes = q.weight_modes()
    if len(modes) > 1 and (q.hi_wbits < q.wbits or q.hi_wbits > 8):
        # the second mode shares the zero-point and scale blocks (uint8 zero points: W <= 8) and the
        # MPE lanes are built as wide as the wider mode; a narrower raised mode has nothing to gain
        raise CodesignError(f"got {q.hi_wbits} with wbits {q.wbits} (per-layer mixed precision); allowed: "
                            f"hi_wbits in ({q.wbits}, 8]", field="quant.hi_wbits")
    max_hd, max_rep = attention_limits(design)
    return {
        "ROWS": hw.rows,
        "COLS": hw.cols,
        "WBITS": q.wbits,
        # the second run-time weight mode of a mixed design (Instr.wbits; 0: one mode, WBITS): the MPE
        # lanes are WBITS_HI wide, a WBITS_HI beat spans ceil(WBITS_HI / WBITS) weight words
        "WBITS_HI": modes[1] if len(modes) > 1 else 0,
        "ABITS": q.abits,
        "KVBITS": q.kvbits,
        "GROUP": q.group,
        "ZP": int(q.zero_point),
        "SCALE_BITS": SCALE_BITS,
        "SFU_LANES": hw.sfu_lanes,
        "WBUF_DEPTH": hw.wbuf_depth,
        "ABUF_DEPTH": hw.abuf_depth,
        "KVBUF_DEPTH": hw.kvbuf_depth,
        "PORT_BITS": hw.port_bits,
        "WEIGHT_CHANNELS": hw.weight_channels,
        "KV_CHANNELS": hw.kv_channels,
        "FREQ_MHZ": hw.freq_mhz,
        "MAX_HD": max_hd,
        "MAX_REP": max_rep,
        # group slices per MPE beat (mpe.v NSUB, HLS mpe::NSUB) and the block-exponent ports of the
        # quantizer (blocks of GROUP inputs one beat of SFU_LANES touches)
        "NSUB": hw.cols // min(hw.cols, q.group),
        "SUB": min(hw.cols, q.group),
        "XBLK_PORTS": lane_blocks(hw.sfu_lanes, q.group),
        # N:M structured sparsity of the weight stream (dense: 1 of 1): kept values per block of M inputs
        "NM_N": int(q.sparsity.split(":")[0]) if q.sparsity != "dense" else 1,
        "NM_M": int(q.sparsity.split(":")[1]) if q.sparsity != "dense" else 1,
    }
