"""HDL parameters of the processor core, taken from design.json and nothing else.

One function maps a ``Design`` to the Verilog parameters of ``codesign_core`` (hw/rtl); emit-rtl,
synth and verify all call it, so a parameter is derived in exactly one place.
"""

from __future__ import annotations

from ...design import Design
from ...errors import CodesignError
from ...quant.numerics import SCALE_BITS   # the numerics contract owns the scale width



# The regression layer every build must also run (`codesign verify`): SmolLM2-135M, head_dim 64,
# 9 query heads over 3 KV heads (codesign.workload preset "smollm2-135m").
VERIFY_MODEL = "smollm2-135m"
AXIL_ADDR_BITS = 7   # s_axi_control address width: registers up to 0x44 (hw/rtl/axil_control.v)


def attention_limits(design: Design) -> tuple[int, int]:
    """(MAX_HD, MAX_REP): the largest head_dim and query heads per KV head the attention buffers
    hold, over the design's model and the verification model."""
    from ...workload import load_model_config

    hd, rep = 0, 1
    for name in (design.model, VERIFY_MODEL):
        try:
            cfg = load_model_config(name)
        except CodesignError:
            continue
        hd = max(hd, cfg.head_dim)
        rep = max(rep, cfg.n_heads // max(cfg.n_kv_heads, 1))
    return hd, rep


def core_params(design: Design) -> dict[str, int]:
    """Verilog parameters of codesign_top for a design point (names as in hw/rtl/codesign_top.v)."""
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
        "SCALE_BITS": SCALE_BITS,
        "SFU_LANES": hw.sfu_lanes,
        "WBUF_DEPTH": hw.wbuf_depth,
        "ABUF_DEPTH": hw.abuf_depth,
        "KVBUF_DEPTH": hw.kvbuf_depth,
        "PORT_BITS": hw.port_bits,
        "MAX_HD": attention_limits(design)[0],
        "MAX_REP": attention_limits(design)[1],
        "C_S_AXI_CONTROL_ADDR_WIDTH": AXIL_ADDR_BITS,
    }


def mpe_params(design: Design) -> dict[str, int]:
    p = core_params(design)
    return {k: p[k] for k in ("ROWS", "COLS", "WBITS", "ABITS", "GROUP", "SCALE_BITS", "ZP")}
