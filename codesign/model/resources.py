"""FPGA resources of the LLM processor template, vectorised over design points.

MPE: rows x cols MAC lanes packed into DSP slices by operand width (constants.products_per_dsp),
plus a scale multiply per row; the adder trees, accumulators and requantizers in fabric. SFU:
sfu_lanes lanes. MEM: one AXI mover per memory port (weight, KV and one I/O port). Buffers: the
weight ping-pong buffer (2 x wbuf_depth tiles of rows x cols W-bit weights + their group scales) in
URAM where the device has it, the activation buffer (abuf_depth int32 elements) and the KV tile
buffer (2 x kvbuf_depth tokens of one K/V head) in BRAM36. The vendor shell is subtracted from the
device (FpgaDevice.available), not added to the design.
"""

from __future__ import annotations

import numpy as np

from ..workload.ops import SCALE_BITS
from . import constants as C

RESOURCES = ("dsp", "lut", "ff", "bram36", "uram")


def _mems(width_bits, depth, mem_width, mem_depth):
    """Memories of (mem_width x mem_depth) needed for a width_bits x depth array."""
    return np.ceil(width_bits / mem_width) * np.ceil(depth / mem_depth)


def estimate(p: dict, device, head_dim: int, kv_scale_bits: int = 8) -> dict:
    """Resources used by the design points ``p`` (dict of 1-D arrays) on ``device``."""
    rows, cols, lanes = p["rows"], p["cols"], p["sfu_lanes"]
    w, a = p["wbits"], p["abits"]
    mac_lanes = rows * cols
    dsp = (np.ceil(mac_lanes / C.products_per_dsp(device.dsp_kind, w, a)) + rows * C.DSP_PER_ROW
           + lanes * C.DSP_PER_SFU_LANE)
    ports = p["weight_channels"] + p["kv_channels"] + 1
    lut = (mac_lanes * C.LUT_PER_LANE_BIT * (w + a) + rows * C.LUT_PER_ROW + lanes * C.LUT_PER_SFU_LANE
           + ports * p["port_bits"] * C.LUT_PER_PORT_BIT + C.CONTROL_LUT)
    ff = (mac_lanes * C.FF_PER_LANE_BIT * (w + a) + rows * C.FF_PER_ROW + lanes * C.FF_PER_SFU_LANE
          + ports * p["port_bits"] * C.FF_PER_PORT_BIT + C.CONTROL_FF)
    # weight buffer: one tile per word (rows*cols*W bits + the tile's scales), 2 x depth words
    groups_per_tile = rows * np.maximum(1.0, cols / p["group"])
    wbuf_width = mac_lanes * w + groups_per_tile * (SCALE_BITS + p["zero_point"] * w)
    wbuf_depth = 2 * p["wbuf_depth"]
    abuf = _mems(32 * cols, np.ceil(p["abuf_depth"] / cols), C.BRAM_WIDTH, 512)  # cols int32 per word
    kvbuf = 2 * _mems(head_dim * p["kvbits"] + kv_scale_bits, 2 * p["kvbuf_depth"], C.BRAM_WIDTH, 512)
    fifo = ports * C.BRAM_PER_PORT * np.ceil(p["port_bits"] / 512)
    if device.uram > 0:
        uram = _mems(wbuf_width, wbuf_depth, C.URAM_WIDTH, 4096)
        bram = abuf + kvbuf + fifo
    else:
        uram = np.zeros_like(rows)
        bram = abuf + kvbuf + fifo + _mems(wbuf_width, wbuf_depth, C.BRAM_WIDTH, 512)
    return {"dsp": dsp, "lut": lut, "ff": ff, "bram36": bram, "uram": uram}


def utilization(used: dict, device) -> dict:
    """Used / available-to-kernels (after the shell) per resource."""
    out = {}
    for r in RESOURCES:
        avail = device.available(r)
        out[r] = used[r] / avail if avail > 0 else np.where(used[r] > 0, np.inf, 0.0)
    return out
