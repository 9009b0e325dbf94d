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

from ..isa.encoding import INSTR_BYTES
from ..quant.numerics import KV_EXP_BITS
from ..quant.pack import sparsity_nm, stream_geometry
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


KEYS = ("cycles", "compute", "memory", "fill", "weight_bytes", "kv_read", "kv_write", "io_bytes", "macs")


class _Shared:
    """Per-point quantities every opcode needs, computed once: shape (1, N). ``memory``: a
    memory.MemorySystem, or None for the device's real memory (channels, DRAM share, latency)."""

    def __init__(self, p, device, memory=None):
        f = p["freq_mhz"]
        self.p = p
        self.pb = p["port_bits"] / 8.0                                    # bytes per port word
        if memory is None:
            self.lat = (C.MEM_LATENCY_NS[device.mem_kind] + C.FABRIC_LATENCY_NS) * f / 1e3
            # kv_channels 0 (unified memory): the KV cache is interleaved over the weight channels and
            # read through the weight mover's ports (instructions run one at a time, so ATTN and a
            # GEMV never contend for them)
            unified = p["kv_channels"] == 0
            self.w_ports = p["weight_channels"]
            self.kv_ports = np.where(unified, p["weight_channels"], np.maximum(p["kv_channels"], 1))
            self.w_bpc = stream_bytes_per_cycle(device, p["weight_channels"], p["port_bits"], f)
            self.kv_bpc = np.where(unified, self.w_bpc,
                                   stream_bytes_per_cycle(device, p["kv_channels"], p["port_bits"], f))
            self.io_bpc = stream_bytes_per_cycle(device, 1.0, p["port_bits"], f)  # gamma, tables, I/O: one port
        else:
            self.lat = np.full_like(f, memory.latency_cycles)
            one = 1.0 if memory.one_port_per_image else None
            self.w_ports = one or p["weight_channels"]
            self.kv_ports = one or np.where(p["kv_channels"] == 0, p["weight_channels"], np.maximum(p["kv_channels"], 1))
            self.w_bpc, self.kv_bpc, self.io_bpc = self.w_ports * self.pb, self.kv_ports * self.pb, self.pb
            if not memory.port_word_per_cycle:
                raise ValueError("a MemorySystem without port_word_per_cycle: use memory=None (device memory)")
        overlapped = True if memory is None else memory.overlapped_requests
        self.overlapped = overlapped
        # latency of each further dependent read/write round trip inside one instruction
        self.lat_next = np.zeros_like(self.lat) if overlapped else self.lat
        # fetch 64 instruction bytes from gmem_io, dispatch, retire (codesign_core.v S_FETCH ..
        # S_ADVANCE): a read round trip plus FETCH_FIXED cycles of the sequencer
        self.issue = C.FETCH_FIXED + self.lat + _ceil(INSTR_BYTES, self.pb)


def _job(sfu_cycles):
    """One SFU job issued by the sequencer: the block's start..done cycles + SFU_JOB_OVERHEAD."""
    return sfu_cycles + C.SFU_JOB_OVERHEAD


def gemv_stream_bytes(n, k, wbits, group, zero_point, rows, cols, sparsity=0):
    """Bytes of an n x k matrix as the RTL streams it: the packer's layout (quant.pack.stream_geometry,
    the one definition; N:M sparse: kept values plus their index bits). Returns (tiles, per-tile
    header bytes (scale + zero-point blocks), per-tile beat bytes, beats per tile)."""
    g = stream_geometry(n, k, wbits, group, zero_point, rows, cols, sparsity)
    return g["tiles"], g["scale_bytes"] + g["zero_bytes"], g["weight_bytes"], g["beats"]


def _gemv(c, s):
    """MPE GEMV/GEMM (codesign_core.v S_GEMV, hw/rtl/mpe.v): the token's activations are quantized
    first (sfu_quant, 2 passes: it needs the whole vector's max), then the matrix streams tile by
    tile: the tile's scale (+ zero) block, then its weight beats, one beat per cycle into the MPE
    while the stream keeps up. The MPE result drains MPE_LAT cycles after the last beat.

    N:M sparse weights (``sparsity``): a beat carries rows x cols *kept* weights with their index
    bits and covers cols * M / N inputs per row (quant.pack.stream_geometry); the MPE consumes one
    such beat per cycle, each lane selecting its activation by its index (the pruned products are
    never issued), so the MPE's beats, and its cycles, scale by N / M at the same array, and the
    streamed bytes by (W + ceil(log2 M)) / W * N / M plus the unchanged scale blocks. ``macs`` are
    the *executed* multiply-accumulates (m * n * k * N / M): what the lanes do, so the roll-up's
    compute utilization stays <= 1; the dense-equivalent work is m * n * k."""
    p = s.p
    m, n, k = c["m"], c["n"], c["k"]
    tiles, head, beat_bytes, beats = gemv_stream_bytes(n, k, p["wbits"], p["group"], p["zero_point"],
                                                       p["rows"], p["cols"], p["sparsity"])
    keep_n, keep_m, _ = sparsity_nm(p["sparsity"], np.result_type(k, p["wbits"]))
    density = keep_n / keep_m
    wbytes = c["wcopies"] * tiles * (head + beat_bytes)
    # tokens whose activations (k each) fit the activation buffer; weights re-stream once per chunk
    chunk = np.maximum(1.0, np.floor(p["abuf_depth"] / np.maximum(k, 1.0)))
    passes = _ceil(m, chunk)
    quantize = m * _job(2 * _ceil(k, p["sfu_lanes"]) + C.SFU_QUANT_LAT)
    mpe = c["wcopies"] * tiles * beats * m                       # one beat (rows x cols lanes) per cycle per token
    head_t = c["wcopies"] * tiles * head / s.w_bpc * passes      # scale/zero blocks: the MPE waits
    beat_t = wbytes * passes / s.w_bpc - head_t
    # a run-time precision mode above the weight buffer's word (mixed precision: a raised unit's
    # GEMV, ``word_wbits`` the design's base bits): each beat spans ceil(W / word) buffer words and
    # the MPE takes one word per cycle (docs/MODEL.md "Mixed precision")
    word = p.get("word_wbits")
    if word is not None:
        mpe = mpe * np.ceil(p["wbits"] / word)
    compute = quantize + mpe + C.MPE_LAT
    memory = head_t + beat_t
    # the RTL issues the weight read after the quantizer (one command at a time): all in sequence;
    # movers with requests outstanding start the stream at dispatch (the address is in the
    # instruction), so the quantizer overlaps the stream's first bytes
    sequential = quantize + head_t + np.maximum(mpe, beat_t) + C.MPE_LAT
    overlapped = np.maximum(quantize + mpe, memory) + C.MPE_LAT
    busy = np.where(s.overlapped, overlapped, sequential)
    return {"compute": compute, "memory": memory, "busy": busy, "fill": passes * s.lat,
            "weight_bytes": wbytes * passes, "macs": m * n * k * density}


def _attn(c, s):
    """Attention per token and KV head in dependent phases (codesign_core.v S_AT_*, docs/RTL.md
    ATTN): quantize the group's query heads; read the K exponents, then the K rows (scores while K
    streams, one row per cycle per KV port at most); the softmax per query head (sfu_softmax, 3
    passes + reciprocal); read the V exponents, then the V rows (P.V while V streams). Each of the
    four reads pays the memory latency and the mover drain."""
    p = s.p
    m, heads, kvh, hd, ctx = c["m"], c["heads"], c["kv_heads"], c["head_dim"], c["ctx"]
    keys_total = m * ctx - m * (m - 1) / 2                    # causal over m consecutive tokens
    q_quant = heads * m * _job(2 * _ceil(hd, p["sfu_lanes"]) + C.SFU_QUANT_LAT)
    softmax = heads * m * _job(3 * _ceil(ctx, p["sfu_lanes"]) + C.SFU_SOFTMAX_LAT)
    row_bytes = _ceil(hd * p["kvbits"], 8)
    kv_read = ctx * 2 * kvh * (hd * p["kvbits"] + KV_EXP_BITS) / 8
    # one head's K (or V) run per channel; shorter than a burst -> cross-channel efficiency
    run = ctx * row_bytes / s.kv_ports
    kv_eff = np.where(run >= BURST_BYTES, 1.0, C.CROSS_CHANNEL_RATIO)
    kv_eff = np.where(s.kv_ports == 1, 1.0, kv_eff)           # one port: one run, no striding
    heads_tok = kvh * keys_total / np.maximum(ctx, 1)         # (token, KV head) pairs
    rows_per_port = kvh * keys_total / s.kv_ports
    # unified memory (kv_channels 0): the K and V rows stream at the weight channels' rate into the
    # MPE, which computes the scores and P.V (heads x head_dim products per key each); a lane of W-bit
    # weights takes a KV-bit operand in ceil(KV / W) passes (nibble-split products)
    unified = p["kv_channels"] == 0
    passes = np.ceil(p["kvbits"] / np.minimum(p["wbits"], p["kvbits"]))
    mpe_rows = heads * hd * keys_total * passes / (p["rows"] * p["cols"])
    rate = np.where(unified, mpe_rows, rows_per_port)
    stream = np.maximum(kvh * keys_total * row_bytes / (s.kv_bpc * kv_eff), rate)  # K alone / V alone
    exps = 2 * heads_tok * _ceil(ctx, s.kv_bpc)               # exponent bytes of K and V
    reads = 4 * m * kvh                                       # exps K, K rows, exps V, V rows
    # the score (q.k for the group's query heads) and P.V units take one K or V row per cycle as it
    # arrives (codesign_core.v S_AT_K / S_AT_V: rep x head_dim products per cycle, not the MPE), so
    # the row rate bounds them: ``stream`` already counts one cycle per row per KV port
    busy = q_quant + stream + softmax + stream + exps + m * kvh * C.ATTN_OUT_CYCLES
    return {"compute": q_quant + softmax + 2 * rate, "memory": 2 * stream + exps, "busy": busy,
            "fill": s.lat + (reads - 1) * s.lat_next + reads * C.READ_DRAIN, "kv_read": kv_read, "macs": 2 * heads * hd * keys_total}


def _kvstore(c, s):
    """Per token, KV head and K/V: quantize the row (sfu_quant), write it, then write its exponent
    byte (codesign_core.v S_KVW_WAIT .. S_KVEXP_WAIT): two write round trips per row."""
    p = s.p
    m, kvh, hd = c["m"], c["kv_heads"], c["head_dim"]
    rows = m * 2 * kvh
    kv_write = rows * (hd * p["kvbits"] + KV_EXP_BITS) / 8
    quant = rows * _job(2 * _ceil(hd, p["sfu_lanes"]) + C.SFU_QUANT_LAT)
    words = rows * _ceil(_ceil(hd * p["kvbits"], 8), s.pb)
    return {"compute": quant, "memory": words, "busy": quant + words,
            "fill": s.lat + (2 * rows - 1) * s.lat_next + rows * C.KV_WRITE_FIXED, "kv_write": kv_write}


def _norm(c, s):
    """RMSNorm: gamma (int16) read first, then one sfu_rmsnorm job (2 passes + inverse sqrt) per
    token; LayerNorm (func 1) also reads beta."""
    p = s.p
    io = c["n"] * 2 * (1 + c["func"])
    compute = c["m"] * _job(2 * _ceil(c["n"], p["sfu_lanes"]) + C.SFU_NORM_LAT)
    memory = _ceil(io, s.io_bpc)
    return {"compute": compute, "memory": memory, "busy": compute + memory,
            "fill": s.lat + C.READ_DRAIN_IO, "io_bytes": io}


def _rope(c, s):
    """Per token: read the cos/sin row (head_dim int16), then one sfu_rope job of head_dim/2 pairs
    per query and K head."""
    p = s.p
    m = c["m"]
    io = m * c["head_dim"] * 2
    compute = m * (c["heads"] + c["kv_heads"]) * _job(_ceil(c["head_dim"] / 2, p["sfu_lanes"]) + C.SFU_ROPE_LAT)
    memory = m * _ceil(c["head_dim"] * 2, s.io_bpc)
    return {"compute": compute, "memory": memory, "busy": compute + memory,
            "fill": s.lat + (m - 1) * s.lat_next + m * C.READ_DRAIN_IO, "io_bytes": io}


def _act(c, s):
    """One sfu_swiglu job over all m x n elements."""
    return {"compute": _job(_ceil(c["m"] * c["n"], s.p["sfu_lanes"]) + C.SFU_ACT_LAT)}


def _add(c, s):
    """One sfu_add job over all m x n elements."""
    return {"compute": _job(_ceil(c["m"] * c["n"], s.p["sfu_lanes"]) + C.SFU_ADD_LAT)}


def _io(c, s):
    """LOAD/STORE of int32 activation vectors over the I/O port: one port word per cycle."""
    io = c["m"] * c["n"] * 4.0
    return {"compute": c["m"] * _ceil(c["n"] * 32, s.p["port_bits"]), "memory": _ceil(io, s.io_bpc),
            "fill": s.lat + C.READ_DRAIN_IO, "io_bytes": io}


FORMULAS = {"GEMV": _gemv, "ATTN": _attn, "KVSTORE": _kvstore, "NORM": _norm, "ROPE": _rope,
            "ACT": _act, "ADD": _add, "LOAD": _io, "STORE": _io}


def _finish(r, issue):
    """cycles = issue + busy + fill; busy = max(compute, memory) unless the formula gives its own
    (instructions with dependent phases, e.g. ATTN)."""
    zero = 0.0
    compute, memory, fill = r["compute"], r.get("memory", zero), r.get("fill", zero)
    busy = r.pop("busy", None)
    if busy is None:
        busy = np.maximum(compute, memory)
    r["cycles"] = issue + busy + fill + C.RETIRE_EXTRA
    return r


def _groups(op):
    flat = op.reshape(-1)
    for name, idx in OP_INDEX.items():
        sel = np.nonzero(flat == idx)[0]
        if sel.size:
            yield name, sel


def instruction_cycles_arrays(op, cols, p, device, memory=None):
    """Per-instruction results. ``op`` (I,) or (I,1) opcode indices, ``cols`` dict of (I,1) fields,
    ``p`` dict of (1,N) parameters. Returns dict of (I,N) arrays (keys: KEYS)."""
    s = _Shared(p, device, memory)
    n_pts = np.broadcast_shapes(*(v.shape for v in p.values()))[-1]
    out = {k: np.zeros((op.size, n_pts)) for k in KEYS}
    for name, sel in _groups(op):
        r = _finish(FORMULAS[name]({k: v[sel] for k, v in cols.items()}, s), s.issue)
        for k, v in r.items():
            out[k][sel] = v
    return out


TOTAL_KEYS = ("cycles", "compute", "weight_bytes", "kv_read", "kv_write", "io_bytes", "macs")

# The parameters each formula reads (p[...] directly), besides those of _Shared (SHARED_PARAMS).
# The batch model evaluates a formula once per combination of these (factors.py); a formula run on
# a parameter dict holding only them raises KeyError if it reads another, so the list cannot drift.
SHARED_PARAMS = ("weight_channels", "kv_channels", "port_bits", "freq_mhz")
FORMULA_PARAMS = {
    "GEMV": ("wbits", "group", "zero_point", "sparsity", "rows", "cols", "abuf_depth", "sfu_lanes"),
    "ATTN": ("kvbits", "sfu_lanes", "wbits", "rows", "cols"), "KVSTORE": ("kvbits", "sfu_lanes"),
    "NORM": ("sfu_lanes",), "ROPE": ("sfu_lanes",), "ACT": ("sfu_lanes",), "ADD": ("sfu_lanes",),
    "LOAD": (), "STORE": (),
}


def formula_params(ops) -> tuple[str, ...]:
    """Every parameter the formulas of ``ops`` read (SHARED_PARAMS included)."""
    out = list(SHARED_PARAMS)
    for o in ops:
        out += [k for k in FORMULA_PARAMS[o] if k not in out]
    return tuple(out)


def effective_channels(p, device) -> dict:
    """Channels beyond the device's are shared (and flagged as a violation elsewhere): each of the
    requested weight/KV channels gets its share, so a prediction never beats the roofline."""
    share = np.minimum(1.0, device.mem_channels / (p["weight_channels"] + p["kv_channels"]))
    return dict(p, weight_channels=p["weight_channels"] * share, kv_channels=p["kv_channels"] * share)


def program_totals(op, cols, count, p, device, memory=None, ops=None):
    """Sums over a program, each instruction weighted by its repeat count: dict of (N,) arrays
    (of the keys the roll-up needs, those the instructions produce; ``ops``: only these opcodes). ``cols`` (I,1), ``p`` (1,N).
    The sum runs instruction by instruction in program order, element-wise: a point's total does
    not depend on which other points share the call (a BLAS product's rounding does)."""
    s = _Shared(p, device, memory)
    n_pts = np.broadcast_shapes(*(v.shape for v in p.values()))[-1]
    dt = np.result_type(*(v.dtype for v in p.values()))
    tot: dict = {}     # only the keys some instruction produces
    for name, sel in _groups(op):
        if ops is not None and name not in ops:
            continue
        r = _finish(FORMULAS[name]({k: v[sel] for k, v in cols.items()}, s), s.issue)
        w = count.reshape(-1)[sel]
        for k in TOTAL_KEYS:
            v = r.get(k)
            if v is None:
                continue
            v = np.broadcast_to(v, (sel.size, v.shape[-1]))
            acc = tot.setdefault(k, np.zeros(n_pts, dtype=dt))
            for i in range(sel.size):
                acc += w[i] * v[i]
    return tot


def _params_as_columns(quant, hw) -> tuple[dict, bool]:
    """Quant/Hardware dataclasses or mappings of arrays -> dict of (1, N) float arrays (a dataclass's
    ``sparsity`` name becomes its numeric code, design.numeric_value; mappings hold codes already)."""
    from dataclasses import asdict, is_dataclass

    from ..design import CODED_FIELDS, numeric_value
    p = {}
    scalar = True
    for src in (quant, hw):
        d = {k2: numeric_value(k2, v) for k2, v in asdict(src).items()} if is_dataclass(src) else dict(src)
        for k2, v in d.items():
            if k2 in CODED_FIELDS and np.asarray(v).dtype.kind in "UO":   # names in a mapping
                v = np.vectorize(lambda x, k2=k2: numeric_value(k2, str(x)), otypes=[np.int64])(v)
            a = np.asarray(v, dtype=np.float64)
            scalar &= a.ndim == 0
            p[k2] = a.reshape(1, -1)
    return p, scalar


def instruction_cycles(instrs, quant, hw_params, device, memory=None) -> dict:
    """Cycles of each instruction of ``instrs`` (a list of ``codesign.isa.instr.Instr``).

    ``quant``/``hw_params``: ``Quant``/``Hardware`` dataclasses (one design: results are 1-D,
    one value per instruction) or mappings of 1-D arrays of N points (results (len(instrs), N)).
    Keys: cycles (total), compute, memory, fill, weight_bytes, kv_read, kv_write, io_bytes, macs.
    ``device``: an FpgaDevice or its database name. ``memory``: None (the device's real memory) or a
    ``memory.MemorySystem`` (e.g. ``memory.SIMULATED_AXIRAM`` for the RTL cross-check).
    """
    from .program import FIELDS
    if isinstance(device, str):
        from ..devices import get_device
        device = get_device(device)
    op = np.array([OP_INDEX[i.op] for i in instrs], dtype=np.int64).reshape(-1, 1)
    cols = {f: np.array([getattr(i, f) for i in instrs], dtype=np.float64).reshape(-1, 1) for f in FIELDS}
    cols["wcopies"] = np.ones_like(cols["m"])   # one matrix per GEMV (MoE routing: see Program)
    p, scalar = _params_as_columns(quant, hw_params)
    out = instruction_cycles_arrays(op, cols, p, device, memory)
    # GEMVs at a run-time precision mode (Instr.wbits, per-layer mixed precision): priced at their
    # bits, each beat spanning ceil(W / quant.wbits) weight-buffer words (_gemv, word_wbits)
    for w in sorted({i.wbits for i in instrs if i.wbits}):
        sel = np.array([n for n, i in enumerate(instrs) if i.wbits == w])
        pw = dict(p, wbits=np.full_like(p["wbits"], w), word_wbits=p["wbits"])
        r = instruction_cycles_arrays(op[sel], {k2: v[sel] for k2, v in cols.items()}, pw, device, memory)
        for k2, v in r.items():
            out[k2][sel] = v
    if scalar:
        out = {k2: v[:, 0] for k2, v in out.items()}
    return out
