"""Cycles per instruction: one vectorised formula per opcode.

Shapes: instruction columns are (I, 1), design-point parameters (1, N); every result is (I, N).

Each instruction takes ``issue + max(compute, memory) + fill`` cycles:
- compute: the unit's beats (MPE: one rows x cols tile per cycle; SFU: sfu_lanes elements per cycle
  and pass), with the RTL pipeline latencies of hw/rtl (constants.py);
- memory: off-chip bytes / sustained bytes per cycle of the channels it streams from. Each channel
  delivers ``min(port_bits / 8, efficiency x channel GB/s / f)`` bytes per cycle: a port narrower
  than the channel at the kernel clock caps it (ARCHITECTURE.md: 14.4 GB/s needs 512 bits at 225 MHz);
- double buffering overlaps compute and memory; what is not overlapped: the first tile's load and
  the off-chip latency (fill), the pipeline drain, and the instruction issue;
- weights are laid out per channel (each channel streams its own slice, long bursts); a KV-cache
  head whose slice per channel is shorter than one burst pays the cross-channel efficiency;
- prefill GEMMs whose activations do not fit the activation buffer stream the weights once per chunk.
"""

from __future__ import annotations

import numpy as np

from ..workload.ops import KV_SCALE_BITS, SCALE_BITS
from . import constants as C
from .program import OP_INDEX

BURST_BYTES = 4096  # AXI4 bursts never cross 4 KiB (AXI spec); a full-length burst per channel


def _ceil(a, b):
    return np.ceil(a / b)


def stream_bytes_per_cycle(device, channels, port_bits, freq_mhz):
    """Sustained bytes per kernel cycle of ``channels`` memory channels with ``port_bits`` ports.
    Independent channels (HBM pseudo-channels, DDR DIMMs): each gives min(port, its DRAM share).
    Ports into one shared controller (Zynq PS DDR, ``mem_shared``): the ports' sum, capped by the
    whole DRAM (instructions run one after another, so one stream may use all of it)."""
    eff = C.MEM_EFFICIENCY[device.mem_kind]
    if getattr(device, "mem_shared", False):
        dram = eff * device.mem_bw_gbs * 1e3 / freq_mhz                  # GB/s -> bytes per cycle
        return np.minimum(channels * port_bits / 8.0, dram)
    per_channel_dram = eff * device.channel_bw_gbs * 1e3 / freq_mhz
    return channels * np.minimum(port_bits / 8.0, per_channel_dram)


def gemv_weight_bytes(n, k, wbits, group, zero_point):
    """Bytes of an n x k weight matrix incl. group scales / zero points (workload.ops.weight_bytes)."""
    quantized = n * k * wbits / 8 + n * _ceil(k, group) * (SCALE_BITS + zero_point * wbits) / 8
    per_channel16 = n * k * 2 + n * SCALE_BITS / 8
    return np.where(wbits == 16, per_channel16, quantized)


KEYS = ("cycles", "compute", "memory", "fill", "weight_bytes", "kv_read", "kv_write", "io_bytes", "macs")


class _Shared:
    """Per-point quantities every opcode needs, computed once: shape (1, N)."""

    def __init__(self, p, device):
        f = p["freq_mhz"]
        self.p = p
        self.lat = (C.MEM_LATENCY_NS[device.mem_kind] + C.FABRIC_LATENCY_NS) * f / 1e3
        self.w_bpc = stream_bytes_per_cycle(device, p["weight_channels"], p["port_bits"], f)
        self.kv_bpc = stream_bytes_per_cycle(device, p["kv_channels"], p["port_bits"], f)
        self.io_bpc = stream_bytes_per_cycle(device, 1.0, p["port_bits"], f)  # gamma, tables, I/O: one port


def _gemv(c, s):
    """MPE GEMV/GEMM: ceil(n/rows) x ceil(k/cols) tiles, one per cycle per token (hw/rtl/mpe.v)."""
    p = s.p
    m, n, k = c["m"], c["n"], c["k"]
    wbytes = c["wcopies"] * gemv_weight_bytes(n, k, p["wbits"], p["group"], p["zero_point"])
    # tokens whose activations (k each) fit the activation buffer; weights re-stream once per chunk
    chunk = np.maximum(1.0, np.floor(p["abuf_depth"] / np.maximum(k, 1.0)))
    passes = _ceil(m, chunk)
    # per-token dynamic activation quantization first (max pass + quantize pass on the SFU, sfu_quant
    # 2B + 3; hw/rtl and docs/RTL.md): it needs the whole vector's max, so it cannot overlap the MPE
    quantize = m * (2 * _ceil(k, p["sfu_lanes"]) + C.SFU_QUANT_LAT)
    compute = quantize + _ceil(n, p["rows"]) * _ceil(k, p["cols"]) * m + C.MPE_LAT
    memory = wbytes * passes / s.w_bpc
    tile_fill = p["rows"] * p["cols"] * p["wbits"] / 8 / s.w_bpc     # first tile before the MPE starts
    fill = passes * (s.lat + tile_fill)
    return {"compute": compute, "memory": memory, "fill": fill, "weight_bytes": wbytes * passes,
            "macs": m * n * k}


def _attn(c, s):
    """Attention in three dependent phases (docs/RTL.md ATTN): QK^T while K streams in, the softmax
    over all scores (SFU, 3 passes, one reciprocal per row), then PV while V streams in; the query
    quantizer runs first. Within a phase the MPE overlaps the stream; the phases do not overlap."""
    p = s.p
    m, heads, kvh, hd, ctx = c["m"], c["heads"], c["kv_heads"], c["head_dim"], c["ctx"]
    keys_total = m * ctx - m * (m - 1) / 2                    # causal over m consecutive tokens
    qk_mpe = heads * keys_total / p["rows"] * _ceil(hd, p["cols"])
    pv_mpe = heads * keys_total / p["cols"] * _ceil(hd, p["rows"])
    q_quant = heads * m * (2 * _ceil(hd, p["sfu_lanes"]) + C.SFU_QUANT_LAT)
    softmax = heads * m * (3 * _ceil(ctx, p["sfu_lanes"]) + C.SFU_SOFTMAX_LAT)
    kv_read = ctx * 2 * kvh * (hd * p["kvbits"] + KV_SCALE_BITS) / 8
    # one head's K (or V) run per channel; shorter than a burst -> cross-channel efficiency
    run = ctx * hd * p["kvbits"] / 8 / np.maximum(p["kv_channels"], 1)
    kv_eff = np.where(run >= BURST_BYTES, 1.0, C.CROSS_CHANNEL_RATIO)
    kv_tiles = _ceil(ctx, p["kvbuf_depth"]) * kvh * 2         # one latency per tile per K/V head
    # K (then V) is read row by row (one token of one K/V head per row): at least one cycle per row
    # per KV port even when a row is narrower than the port (docs/RTL.md ATTN)
    rows_per_port = kvh * ctx / np.maximum(p["kv_channels"], 1)
    stream = np.maximum(kv_read / 2 / (s.kv_bpc * kv_eff), rows_per_port)    # K alone, or V alone
    busy = q_quant + np.maximum(qk_mpe, stream) + softmax + np.maximum(pv_mpe, stream)
    return {"compute": q_quant + qk_mpe + softmax + pv_mpe, "memory": 2 * stream, "busy": busy,
            "fill": kv_tiles * s.lat / np.maximum(p["kv_channels"], 1) + s.lat,
            "kv_read": kv_read, "macs": 2 * heads * hd * keys_total}


def _kvstore(c, s):
    """Quantize K and V per token per head (2 passes, sfu_quant) and write them."""
    p = s.p
    m, kvh, hd = c["m"], c["kv_heads"], c["head_dim"]
    kv_write = m * 2 * kvh * (hd * p["kvbits"] + KV_SCALE_BITS) / 8
    return {"compute": m * kvh * 2 * (2 * _ceil(hd, p["sfu_lanes"]) + C.SFU_QUANT_LAT),
            "memory": kv_write / s.kv_bpc, "fill": s.lat, "kv_write": kv_write}


def _norm(c, s):
    """RMSNorm/LayerNorm: 2 passes + inverse sqrt (sfu_rmsnorm); gamma (+ beta) int16 from memory."""
    p = s.p
    io = c["n"] * 2 * (1 + c["func"])
    return {"compute": c["m"] * (2 * _ceil(c["n"], p["sfu_lanes"]) + C.SFU_NORM_LAT),
            "memory": io / s.io_bpc, "fill": s.lat, "io_bytes": io}


def _rope(c, s):
    """Rotate (heads + kv_heads) x head_dim / 2 pairs per token; cos/sin Q1.14 table row per position."""
    p = s.p
    pairs = (c["heads"] + c["kv_heads"]) * c["head_dim"] / 2
    io = c["m"] * c["head_dim"] * 2
    return {"compute": c["m"] * (_ceil(pairs, p["sfu_lanes"]) + C.SFU_ROPE_LAT),
            "memory": io / s.io_bpc, "fill": s.lat, "io_bytes": io}


def _act(c, s):
    return {"compute": c["m"] * (_ceil(c["n"], s.p["sfu_lanes"]) + C.SFU_ACT_LAT)}


def _add(c, s):
    return {"compute": c["m"] * (_ceil(c["n"], s.p["sfu_lanes"]) + C.SFU_ADD_LAT)}


def _io(c, s):
    """LOAD/STORE of int32 activation vectors over the I/O port."""
    io = c["m"] * c["n"] * 4.0
    return {"compute": c["m"] * _ceil(c["n"] * 32, s.p["port_bits"]), "memory": io / s.io_bpc,
            "fill": s.lat, "io_bytes": io}


FORMULAS = {"GEMV": _gemv, "ATTN": _attn, "KVSTORE": _kvstore, "NORM": _norm, "ROPE": _rope,
            "ACT": _act, "ADD": _add, "LOAD": _io, "STORE": _io}


def _finish(r):
    """cycles = issue + busy + fill; busy = max(compute, memory) unless the formula gives its own
    (instructions with dependent phases, e.g. ATTN)."""
    zero = 0.0
    compute, memory, fill = r["compute"], r.get("memory", zero), r.get("fill", zero)
    busy = r.pop("busy", None)
    if busy is None:
        busy = np.maximum(compute, memory)
    r["cycles"] = C.ISSUE_CYCLES + busy + fill
    return r


def _groups(op):
    flat = op.reshape(-1)
    for name, idx in OP_INDEX.items():
        sel = np.nonzero(flat == idx)[0]
        if sel.size:
            yield name, sel


def instruction_cycles_arrays(op, cols, p, device):
    """Per-instruction results. ``op`` (I,) or (I,1) opcode indices, ``cols`` dict of (I,1) fields,
    ``p`` dict of (1,N) parameters. Returns dict of (I,N) arrays (keys: KEYS)."""
    s = _Shared(p, device)
    n_pts = np.broadcast_shapes(*(v.shape for v in p.values()))[-1]
    out = {k: np.zeros((op.size, n_pts)) for k in KEYS}
    for name, sel in _groups(op):
        r = _finish(FORMULAS[name]({k: v[sel] for k, v in cols.items()}, s))
        for k, v in r.items():
            out[k][sel] = v
    return out


TOTAL_KEYS = ("cycles", "compute", "weight_bytes", "kv_read", "kv_write", "io_bytes", "macs")


def program_totals(op, cols, count, p, device):
    """Sums over a program, each instruction weighted by its repeat count: dict of (N,) arrays.
    (The batch path: only the keys the roll-up needs, summed by a (1,I) x (I,N) product.)"""
    s = _Shared(p, device)
    n_pts = np.broadcast_shapes(*(v.shape for v in p.values()))[-1]
    dt = np.result_type(*(v.dtype for v in p.values()))
    tot = {k: np.zeros(n_pts, dtype=dt) for k in TOTAL_KEYS}
    for name, sel in _groups(op):
        r = _finish(FORMULAS[name]({k: v[sel] for k, v in cols.items()}, s))
        w = count.reshape(-1)[sel]
        for k in TOTAL_KEYS:
            v = r.get(k)
            if v is None:
                continue
            if v.shape[-1] == 1:
                tot[k] += float(w @ v.reshape(-1))
            else:
                tot[k] += w @ np.broadcast_to(v, (sel.size, n_pts))
    return tot


def _params_as_columns(quant, hw) -> tuple[dict, bool]:
    """Quant/Hardware dataclasses or mappings of arrays -> dict of (1, N) float arrays."""
    from dataclasses import asdict, is_dataclass
    p = {}
    scalar = True
    for src in (quant, hw):
        d = asdict(src) if is_dataclass(src) else dict(src)
        for k2, v in d.items():
            a = np.asarray(v, dtype=np.float64)
            scalar &= a.ndim == 0
            p[k2] = a.reshape(1, -1)
    return p, scalar


def instruction_cycles(instrs, quant, hw_params, device) -> dict:
    """Cycles of each instruction of ``instrs`` (a list of ``codesign.isa.instr.Instr``).

    ``quant``/``hw_params``: ``Quant``/``Hardware`` dataclasses (one design: results are 1-D,
    one value per instruction) or mappings of 1-D arrays of N points (results (len(instrs), N)).
    Keys: cycles (total), compute, memory, fill, weight_bytes, kv_read, kv_write, io_bytes, macs.
    ``device``: an FpgaDevice or its database name.
    """
    from .program import FIELDS
    if isinstance(device, str):
        from ..devices import get_device
        device = get_device(device)
    op = np.array([OP_INDEX[i.op] for i in instrs], dtype=np.int64).reshape(-1, 1)
    cols = {f: np.array([getattr(i, f) for i in instrs], dtype=np.float64).reshape(-1, 1) for f in FIELDS}
    cols["wcopies"] = np.ones_like(cols["m"])   # one matrix per GEMV (MoE routing: see Program)
    p, scalar = _params_as_columns(quant, hw_params)
    out = instruction_cycles_arrays(op, cols, p, device)
    if scalar:
        out = {k2: v[:, 0] for k2, v in out.items()}
    return out
