"""FPGA resources of the LLM processor template, vectorised over design points.

MPE: rows x cols MAC lanes packed into DSP slices by operand width (constants.products_per_dsp),
plus a scale multiply per row; the adder trees, accumulators, block-exponent shifters (one per row and
group slice) and requantizers in fabric. SFU:
sfu_lanes lanes. MEM: one AXI mover per memory port (weight, KV and one I/O port). Buffers: the
weight ping-pong buffer (2 x wbuf_depth tiles of rows x cols W-bit weights + their group scales) in
URAM where the device has it, the activation buffer (abuf_depth int32 elements) and the KV tile
buffer (2 x kvbuf_depth tokens of one K/V head) in BRAM36. The vendor shell is subtracted from the
device (FpgaDevice.available), not added to the design.
"""

from __future__ import annotations

import numpy as np

from ..quant.pack import sparsity_nm
from ..workload.ops import SCALE_BITS
from . import constants as C

RESOURCES = ("dsp", "lut", "ff", "bram36", "uram")



def _sparse(p, dtype=np.float64):
    """(N, M, index bits, inputs per beat = cols * M / N) of each point's ``sparsity`` code."""
    n, m, ib = sparsity_nm(p["sparsity"], dtype)
    return n, m, ib, p["cols"] * m / n


def _mems(width_bits, depth, mem_width, mem_depth):
    """Memories of (mem_width x mem_depth) needed for a width_bits x depth array."""
    return np.ceil(width_bits / mem_width) * np.ceil(depth / mem_depth)


def _lane_wbits(p):
    """Weight bits a MAC lane multiplies: the design's, or with a mixed-precision mode (``mixed`` > 0)
    the raised units' hi_wbits: one lane width serves both modes, the DSP packing is the wider one's
    (a W4A8 and a W8A8 product pack alike on DSP48E2 / DSP58, constants.products_per_dsp)."""
    return np.where(p["mixed"] > 0, np.maximum(p["wbits"], p["hi_wbits"]), p["wbits"])


def _ecp5(device) -> bool:
    """Lattice ECP5 (MULT18X18D multipliers, LUT4 fabric): the coefficients fitted on post-route builds
    of the whole processor (model/ecp5_calibration.py, constants.ECP5_*), not the Xilinx ones."""
    return device.dsp_kind == "MULT18X18D"


def _ecp5_linear(coef: dict, p):
    from .ecp5_calibration import predict
    if not any(coef.values()):
        from ..errors import CodesignError
        raise CodesignError("the ECP5 resource model has no fitted coefficients yet (constants.ECP5_*): run the "
                            "place-and-route builds of benchmarks/ecp5_calibrate.py and --fit", field="device")
    return predict(coef, p)


def _ecp5_ports(p):
    """Port bits beyond the builds' 64: the generated RTL has three AXI bundles (weights, KV, I/O)
    whatever the channel plan; wider ports add the Xilinx per-bit mover costs (not calibrated on ECP5)."""
    return 3 * np.maximum(0, p["port_bits"] - C.ECP5_PORT_BITS)


def _dsp(p, device, head_dim, kv_scale_bits):
    rows, cols = p["rows"], p["cols"]
    if _ecp5(device):
        return _ecp5_linear(C.ECP5_MULT, p)
    return (np.ceil(rows * cols / C.products_per_dsp(device.dsp_kind, _lane_wbits(p), p["abits"]))
            + rows * C.DSP_PER_ROW + p["sfu_lanes"] * C.DSP_PER_SFU_LANE)


def _ports(p):
    """AXI masters: one per weight channel and per KV channel, and the I/O port (unified memory,
    kv_channels 0: the KV reads and writes share the weight ports)."""
    return p["weight_channels"] + p["kv_channels"] + 1


def _unified_mux_lut(p):
    """Unified memory (kv_channels 0): a 2:1 multiplexer per read-data bit of every weight port (KV
    rows or weight beats into the MPE) and per write-data bit (the KV cache writes): one LUT6 each."""
    return np.where(p["kv_channels"] == 0, 2 * p["weight_channels"] * p["port_bits"] * C.LUT_PER_MUX2_BIT, 0)


def _lut(p, device, head_dim, kv_scale_bits):
    rows = p["rows"]
    if _ecp5(device):
        return _ecp5_linear(C.ECP5_LUT, p) + _ecp5_ports(p) * C.LUT_PER_PORT_BIT
    _, m, _, beat_in = _sparse(p, np.result_type(p["cols"]))
    slices = np.maximum(1, beat_in // p["group"])     # group slices per MPE beat: one shifter each per row
    index_mux = rows * p["cols"] * p["abits"] * np.where(m > 1, np.ceil(m / 4), 0) * C.LUT_PER_SPARSE_MUX4_BIT
    ib = _sparse(p, np.result_type(p["cols"]))[2]
    # a mixed-precision mode (hw/rtl/weight_beat.v): a 2:1 mux per bit of each lane field (widened
    # base-mode lane or gathered wide lane), checked on Yosys (constants.WBEAT_CTRL_FF's note)
    word_asm = np.where(p["mixed"] > 0, rows * p["cols"] * (_lane_wbits(p) + ib) * C.LUT_PER_MUX2_BIT, 0)
    return (rows * p["cols"] * C.LUT_PER_LANE_BIT * (_lane_wbits(p) + p["abits"]) + rows * C.LUT_PER_ROW + word_asm
            + rows * slices * C.LUT_PER_EXP_SHIFTER + index_mux
            + p["sfu_lanes"] * C.LUT_PER_SFU_LANE + _ports(p) * p["port_bits"] * C.LUT_PER_PORT_BIT + C.CONTROL_LUT
            + _unified_mux_lut(p))


def _ff(p, device, head_dim, kv_scale_bits):
    rows = p["rows"]
    if _ecp5(device):
        return _ecp5_linear(C.ECP5_FF, p) + _ecp5_ports(p) * C.FF_PER_PORT_BIT
    ib = _sparse(p, np.result_type(p["cols"]))[2]                 # N:M: each lane's index register
    # a mixed-precision mode: the ceil(hi / wbits) - 1 weight words of a wide beat gathered in registers
    parts = np.ceil(_lane_wbits(p) / p["wbits"]) - 1
    word_asm = np.where(p["mixed"] > 0, rows * p["cols"] * (p["wbits"] + ib) * parts + C.WBEAT_CTRL_FF, 0)
    return (rows * p["cols"] * C.FF_PER_LANE_BIT * (_lane_wbits(p) + p["abits"] + ib) + rows * C.FF_PER_ROW + word_asm
            + p["sfu_lanes"] * C.FF_PER_SFU_LANE + _ports(p) * p["port_bits"] * C.FF_PER_PORT_BIT + C.CONTROL_FF)


def _wbuf(p, mem_width, mem_depth):
    """Weight buffer: one beat per word (rows*cols lane fields of W bits, + index bits when N:M
    sparse, + the beat's scales), 2 x depth words."""
    rows, cols, w = p["rows"], p["cols"], p["wbits"]
    _, _, ib, beat_in = _sparse(p, np.result_type(cols))
    groups_per_tile = rows * np.maximum(1.0, beat_in / p["group"])
    width = rows * cols * (w + ib) + groups_per_tile * (SCALE_BITS + p["zero_point"] * w)
    return _mems(width, 2 * p["wbuf_depth"], mem_width, mem_depth)


def _bram36(p, device, head_dim, kv_scale_bits):
    beat_in = _sparse(p, np.result_type(p["cols"]))[3]     # activations one MPE beat reads: cols (N:M: cols * M / N)
    abuf = _mems(32 * beat_in, np.ceil(p["abuf_depth"] / beat_in), C.BRAM_WIDTH, 512)  # int32 per word
    kvbuf = 2 * _mems(head_dim * p["kvbits"] + kv_scale_bits, 2 * p["kvbuf_depth"], C.BRAM_WIDTH, 512)
    fifo = _ports(p) * C.BRAM_PER_PORT * np.ceil(p["port_bits"] / 512)
    if device.uram > 0:
        return abuf + kvbuf + fifo
    return abuf + kvbuf + fifo + _wbuf(p, C.BRAM_WIDTH, 512)


def _uram(p, device, head_dim, kv_scale_bits):
    if device.uram > 0:
        return _wbuf(p, C.URAM_WIDTH, 4096)
    return np.zeros_like(p["rows"])


_WBUF_PARAMS = ("rows", "cols", "wbits", "group", "zero_point", "sparsity", "wbuf_depth")
_PORT_PARAMS = ("weight_channels", "kv_channels", "port_bits")

# resource -> (formula, the parameters it reads): the batch model evaluates each once per
# combination of its parameters (factors.py); run on a dict of only these, a formula that reads
# another raises KeyError.
FORMULAS = {
    "dsp": (_dsp, ("rows", "cols", "sfu_lanes", "wbits", "abits", "mixed", "hi_wbits")),   # ECP5: MULT18X18D
    # abuf_depth: the ECP5 model's buffer term (distributed RAM); the Xilinx formulas do not read it
    "lut": (_lut, ("rows", "cols", "sfu_lanes", "wbits", "abits", "group", "sparsity", "mixed", "hi_wbits",
                   "abuf_depth") + _PORT_PARAMS),
    "ff": (_ff, ("rows", "cols", "sfu_lanes", "wbits", "abits", "sparsity", "mixed", "hi_wbits", "abuf_depth")
           + _PORT_PARAMS),
    "bram36": (_bram36, ("cols", "sparsity", "abuf_depth", "kvbits", "kvbuf_depth") + _PORT_PARAMS + _WBUF_PARAMS),
    "uram": (_uram, _WBUF_PARAMS),
}


def resource_params(name: str, device) -> tuple[str, ...]:
    """The parameters resource ``name`` depends on on ``device`` (BRAM holds the weight buffer
    only on devices without URAM)."""
    params = FORMULAS[name][1]
    if name == "bram36" and device.uram > 0:
        params = tuple(k for k in params if k not in _WBUF_PARAMS or k in ("cols", "sparsity"))
    return params


def estimate_one(name: str, p: dict, device, head_dim: int, kv_scale_bits: int = 8):
    return FORMULAS[name][0](p, device, head_dim, kv_scale_bits)


def utilization(used: dict, device, resources=RESOURCES) -> dict:
    """Used / available-to-kernels (after the shell) per resource."""
    out = {}
    for r in resources:
        avail = device.available(r)
        out[r] = used[r] / avail if avail > 0 else np.where(used[r] > 0, np.inf, 0.0)
    return out
