"""Memory images: weights, KV cache and IO packed exactly as the hardware reads them (docs/NUMERICS.md,
"Memory images"). Every writer has its reader; the executor reads only through the readers."""

from __future__ import annotations

import numpy as np

from ..design import SPARSITY_CODES
from .numerics import SCALE_BITS, ZERO_BITS, WeightQ, parse_sparsity, sparse_index_bits

ALIGN = 64   # every region starts on a 512-bit boundary


def align(n: int, a: int = ALIGN) -> int:
    return -(-n // a) * a


def pack_bits(values, width: int) -> bytes:
    """Little-endian bit packing: element i at bits [i*width, (i+1)*width) (two's complement);
    padded with zero bits to a whole byte."""
    v = np.asarray(values, dtype=np.int64).reshape(-1) & ((1 << width) - 1)
    bits = ((v[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(bits, bitorder="little").tobytes()


def unpack_bits(data, count: int, width: int, signed: bool) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8), bitorder="little")[:count * width]
    if bits.size < count * width:
        raise ValueError("not enough bytes to unpack")
    v = (bits.reshape(count, width).astype(np.int64) << np.arange(width, dtype=np.int64)).sum(axis=1)
    if signed:
        v = np.where(v >> (width - 1), v - (1 << width), v)
    return v


# ----------------------------------------------------------------------------- weights
def stream_geometry(n, k, bits, group, zero_point, rows, cols, sparsity=0) -> dict:
    """Sizes of one packed weight matrix for a ROWS x COLS MPE: THE definition of the weight-stream
    layout (the packer below writes it, the analytical model prices it: model/cycles.py).

    Array-capable: every argument may be a numpy array (broadcast together; float or int); the
    result holds arrays of the broadcast shape. Per tile of ``rows`` outputs: the scale block
    (``SCALE_BITS`` per row and group), the zero-point block (``zero_bytes(bits)`` per row and group,
    only with zero points), then the weight beats; each block padded to ALIGN bytes. A beat holds
    rows x cols lane fields of ``bits + index_bits`` bits and covers ``beat_inputs`` = cols * M / N
    inputs of each of its rows: dense (N = M = 1, no index bits) cols weights, N:M sparse the N kept
    weights of each of cols / N blocks of M inputs, each with its ceil(log2 M)-bit index in the
    block (docs/NUMERICS.md, "N:M sparse weight stream"). k is padded to a multiple of
    max(beat_inputs, group). ``sparsity``: the sweep's numeric code (index into
    design.SPARSITY_CODES; array-capable) or a name ("2:4"). W16 keeps its per-row scale
    replicated in every group slot (numerics.quantize_weight_groups), so it has k_pad / group groups
    like every width. Float inputs keep their dtype (float32 in, float32 out; the code does not set
    it). No divisibility check here (``matrix_geometry`` checks one matrix; the model flags such
    points as violations)."""
    n, k, bits, group, zero_point, rows, cols = (_as_float(v) for v in (n, k, bits, group, zero_point, rows, cols))
    dt = np.result_type(n, k, bits, group, zero_point, rows, cols)
    sp_n, sp_m, ib = sparsity_nm(sparsity, dt)
    beat_in = cols * sp_m / sp_n                 # dense inputs of one row a beat covers
    span = np.maximum(beat_in, group)
    kp = np.ceil(k / span) * span
    tiles = np.ceil(n / rows)
    ng = kp / group
    beat = np.ceil(rows * cols * (bits + ib) / 8)
    scale_b = _align_arr(rows * ng * SCALE_BITS / 8)
    zb = np.where(bits <= 8, ZERO_BITS // 8, 2).astype(bits.dtype)
    zero_b = (zero_point != 0) * _align_arr(rows * ng * zb)
    beats = kp / beat_in
    weight_b = _align_arr(beat * beats)
    tile = scale_b + zero_b + weight_b
    return {"k_pad": kp, "n_pad": tiles * rows, "groups": ng, "beats": beats, "beat_bytes": beat,
            "beat_inputs": beat_in, "index_bits": ib,
            "scale_bytes": scale_b, "zero_bytes": zero_b, "weight_bytes": weight_b, "tile_bytes": tile,
            "tiles": tiles, "bytes": tile * tiles}


# [code] -> (N, M, index bits) of design.SPARSITY_CODES
_SPARSITY_TABLE = np.array([(*parse_sparsity(s), sparse_index_bits(parse_sparsity(s)[1])) for s in SPARSITY_CODES],
                           dtype=np.float64)


def sparsity_code(sparsity) -> int:
    """design.SPARSITY_CODES index of a sparsity name."""
    if sparsity not in SPARSITY_CODES:
        raise ValueError(f"sparsity {sparsity!r}: allowed {list(SPARSITY_CODES)}")
    return SPARSITY_CODES.index(sparsity)


def sparsity_nm(sparsity, dtype=np.float64):
    """(N, M, index bits) of a sparsity name or numeric code (array-capable), in ``dtype``."""
    code = sparsity_code(sparsity) if isinstance(sparsity, str) else sparsity
    t = _SPARSITY_TABLE[np.asarray(code).astype(np.intp)]
    return t[..., 0].astype(dtype), t[..., 1].astype(dtype), t[..., 2].astype(dtype)


def _as_float(v):
    """Floats keep their dtype (the sweep runs in float32: every size here is an integer below 2^24,
    exact in it); ints and bools become float64."""
    a = np.asarray(v)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _align_arr(n):
    return np.ceil(n / ALIGN) * ALIGN


def matrix_geometry(n: int, k: int, bits: int, group: int, zero_point: bool, rows: int, cols: int,
                    sparsity: str = "dense") -> dict:
    """``stream_geometry`` of one matrix, as ints; raises when the MPE's group slices do not fit:
    neither of a beat's inputs (cols, or cols * M / N when N:M sparse) and group divides the other;
    N:M also needs N | cols (whole blocks per beat) and M | group (no block straddles two groups)."""
    sp_n, sp_m = parse_sparsity(sparsity)
    sparsity_code(sparsity)
    if sp_n < sp_m:
        if cols % sp_n:
            raise ValueError(f"sparsity {sparsity}: N = {sp_n} must divide cols = {cols}")
        if group % sp_m:
            raise ValueError(f"sparsity {sparsity}: M = {sp_m} must divide group = {group}")
    span = cols * sp_m // sp_n
    if max(span, group) % min(span, group):
        what = f"cols={cols}" if sp_n == sp_m else f"a beat's {span} inputs (cols * M / N)"
        raise ValueError(f"one of {what}, group={group} must divide the other")
    return {key: int(v) for key, v in stream_geometry(n, k, bits, group, zero_point, rows, cols, sparsity).items()}


def zero_bytes(bits: int) -> int:
    """Bytes per stored zero point: numerics.ZERO_BITS (uint8) for W <= 8, uint16 for W = 16
    (stream_geometry holds the same rule for arrays)."""
    return ZERO_BITS // 8 if bits <= 8 else 2


def matrix_bytes(n: int, k: int, bits: int, group: int, zero_point: bool, rows: int, cols: int,
                 sparsity: str = "dense") -> int:
    return matrix_geometry(n, k, bits, group, zero_point, rows, cols, sparsity)["bytes"]


def _kept(d: np.ndarray, sp_n: int, sp_m: int, where: str):
    """Per block of M inputs of ``d`` [rows, kp] (the weights minus their zero points): the N lane
    slots' input indices in the block, ascending. The N of largest |d| (ties: lower index) are
    kept; a block with more than N non-zero entries is not N:M sparse."""
    rows, kp = d.shape
    blocks = d.reshape(rows, kp // sp_m, sp_m)
    order = np.argsort(-np.abs(blocks), axis=-1, kind="stable")
    idx = np.sort(order[..., :sp_n], axis=-1)
    if np.count_nonzero(blocks, axis=-1).max(initial=0) > sp_n:
        raise ValueError(f"{where}: a block of {sp_m} inputs has more than {sp_n} non-zero weights "
                         "(quantize with numerics.quantize_weight_groups(..., sparsity=...))")
    return idx


def pack_matrix(wq: WeightQ, rows: int, cols: int) -> bytes:
    """The weight stream of one matrix (scales, zero points, weight beats per row tile); N:M sparse
    when ``wq.sparsity`` says so (docs/NUMERICS.md)."""
    n, k = wq.out_features, wq.in_features
    g = matrix_geometry(n, k, wq.bits, wq.group, wq.zero_point, rows, cols, wq.sparsity)
    sp_n, sp_m = parse_sparsity(wq.sparsity)
    sparse = sp_n < sp_m
    kp, npad, ng = g["k_pad"], g["n_pad"], g["groups"]
    q = np.zeros((npad, kp), dtype=np.int64)
    zero = np.zeros((npad, ng), dtype=np.int64)
    mant = np.zeros((npad, ng), dtype=np.int64)
    q[:n, :wq.q.shape[1]] = wq.q
    zero[:n, :wq.groups] = wq.zero
    mant[:n, :wq.groups] = wq.mant
    # padding columns of real rows hold the row's zero point (w - z = 0)
    zcol = np.repeat(zero, wq.group, axis=1)
    q[:n, wq.groups * wq.group:] = zcol[:n, wq.groups * wq.group:]
    width = wq.bits + g["index_bits"]
    out = bytearray()
    for r0 in range(0, npad, rows):
        sc = mant[r0:r0 + rows].T.astype("<u2").tobytes()          # for g, for r
        out += sc + bytes(g["scale_bytes"] - len(sc))
        if wq.zero_point:
            zb = zero[r0:r0 + rows].T.astype("<u2" if zero_bytes(wq.bits) == 2 else np.uint8).tobytes()
            out += zb + bytes(g["zero_bytes"] - len(zb))
        tile = q[r0:r0 + rows]                                      # [rows, kp]
        if sparse:
            idx = _kept(tile - zcol[r0:r0 + rows], sp_n, sp_m, f"rows {r0}..{r0 + rows - 1}")
            vals = np.take_along_axis(tile.reshape(rows, kp // sp_m, sp_m), idx, axis=-1)
            # lane field: the W-bit value in the low bits, its index in the block above it
            tile = (vals & ((1 << wq.bits) - 1)) | (idx << wq.bits)
            tile = tile.reshape(rows, -1)                           # [rows, beats * cols] lane slots
        beats = tile.reshape(rows, g["beats"], cols).transpose(1, 0, 2)   # [beat, r, c]
        wb = b"".join(pack_bits(b, width) for b in beats)
        out += wb + bytes(g["weight_bytes"] - len(wb))
    assert len(out) == g["bytes"]
    return bytes(out)


def unpack_matrix(data, n: int, k: int, bits: int, group: int, zero_point: bool, shift: int,
                  rows: int, cols: int, sparsity: str = "dense") -> WeightQ:
    """Read one matrix back from its stream (the executor's view of gmem_w)."""
    g = matrix_geometry(n, k, bits, group, zero_point, rows, cols, sparsity)
    sp_n, sp_m = parse_sparsity(sparsity)
    sparse = sp_n < sp_m
    data = bytes(data)
    if len(data) < g["bytes"]:
        raise ValueError(f"weight stream truncated: {len(data)} < {g['bytes']} bytes")
    kp, npad, ng = g["k_pad"], g["n_pad"], g["groups"]
    q = np.zeros((npad, kp), dtype=np.int64)
    zero = np.zeros((npad, ng), dtype=np.int64)
    mant = np.zeros((npad, ng), dtype=np.int64)
    nbeats = g["beats"]
    width = bits + g["index_bits"]
    for t in range(g["tiles"]):
        base = t * g["tile_bytes"]
        r0 = t * rows
        sc = np.frombuffer(data, dtype="<u2", count=rows * ng, offset=base)
        mant[r0:r0 + rows] = sc.reshape(ng, rows).T
        off = base + g["scale_bytes"]
        if zero_point:
            zb = np.frombuffer(data, dtype="<u2" if zero_bytes(bits) == 2 else np.uint8, count=rows * ng, offset=off)
            zero[r0:r0 + rows] = zb.reshape(ng, rows).T
            off += g["zero_bytes"]
        raw = data[off:off + nbeats * g["beat_bytes"]]
        vals = [unpack_bits(raw[b * g["beat_bytes"]:(b + 1) * g["beat_bytes"]], rows * cols, width,
                            signed=not zero_point and not sparse) for b in range(nbeats)]
        lanes = np.stack(vals).reshape(nbeats, rows, cols).transpose(1, 0, 2).reshape(rows, nbeats * cols)
        if not sparse:
            q[r0:r0 + rows] = lanes
            continue
        v = lanes & ((1 << bits) - 1)
        if not zero_point:
            v = np.where(v >> (bits - 1), v - (1 << bits), v)
        idx = (lanes >> bits).reshape(rows, kp // sp_m, sp_n)
        srt = np.sort(idx, axis=-1)
        if (idx >= sp_m).any() or (srt[..., 1:] == srt[..., :-1]).any():
            raise ValueError(f"rows {r0}..{r0 + rows - 1}: a sparse block repeats an index or has one >= {sp_m}")
        blocks = np.repeat(zero[r0:r0 + rows], group, axis=1).reshape(rows, kp // sp_m, sp_m)  # pruned: q = z
        np.put_along_axis(blocks, idx, v.reshape(rows, kp // sp_m, sp_n), axis=-1)
        q[r0:r0 + rows] = blocks.reshape(rows, kp)
    ngr = -(-k // group)
    return WeightQ(q=q[:n, :ngr * group], zero=zero[:n, :ngr], mant=mant[:n, :ngr], shift=shift, bits=bits,
                   group=group, zero_point=zero_point, in_features=k, sparsity=sparsity)


# ----------------------------------------------------------------------------- KV cache
def kv_row_bytes(head_dim: int, kvbits: int) -> int:
    return -(-head_dim * kvbits // 8)


def kv_region_bytes(kv_heads: int, cap: int, head_dim: int, kvbits: int) -> int:
    return align(2 * kv_heads * cap * (kv_row_bytes(head_dim, kvbits) + 1))


def _kv_offsets(kv_heads, cap, head_dim, kvbits):
    R = kv_row_bytes(head_dim, kvbits)
    data = kv_heads * cap * R
    return R, {"k": 0, "v": data, "ke": 2 * data, "ve": 2 * data + kv_heads * cap}


def kv_write(image: bytearray, addr: int, which: str, head: int, pos: int, q, e: int,
             kv_heads: int, cap: int, head_dim: int, kvbits: int) -> None:
    """Store one quantized K or V row (head, position) and its exponent."""
    if not 0 <= pos < cap:
        raise ValueError(f"KV position {pos} outside capacity {cap}")
    R, off = _kv_offsets(kv_heads, cap, head_dim, kvbits)
    row = addr + off[which] + (head * cap + pos) * R
    image[row:row + R] = pack_bits(q, kvbits)
    image[addr + off[which + "e"] + head * cap + pos] = int(e)


def kv_read(image, addr: int, which: str, tokens: int, kv_heads: int, cap: int, head_dim: int,
            kvbits: int) -> tuple[np.ndarray, np.ndarray]:
    """(q [kv_heads, tokens, head_dim], e [kv_heads, tokens]) of the first ``tokens`` positions."""
    R, off = _kv_offsets(kv_heads, cap, head_dim, kvbits)
    q = np.zeros((kv_heads, tokens, head_dim), dtype=np.int64)
    e = np.zeros((kv_heads, tokens), dtype=np.int64)
    img = bytes(image) if not isinstance(image, bytes) else image
    for h in range(kv_heads):
        base = addr + off[which] + h * cap * R
        if tokens == 0:
            pass
        elif kvbits % 8 == 0:
            raw = np.frombuffer(img, dtype=f"<i{kvbits // 8}", count=tokens * head_dim, offset=base)
            q[h] = raw.reshape(tokens, head_dim)
        elif R * 8 == head_dim * kvbits:   # rows are bit-contiguous: one unpack for all tokens
            q[h] = unpack_bits(img[base:base + tokens * R], tokens * head_dim, kvbits, True).reshape(tokens, head_dim)
        else:
            q[h] = np.stack([unpack_bits(img[base + t * R:base + (t + 1) * R], head_dim, kvbits, True)
                             for t in range(tokens)])
        eb = addr + off[which + "e"] + h * cap
        e[h] = np.frombuffer(img, dtype=np.uint8, count=tokens, offset=eb)
    return q, e


# ----------------------------------------------------------------------------- IO image
def put_i32(image: bytearray, addr: int, values) -> None:
    b = np.asarray(values, dtype=np.int64).astype("<i4").tobytes()
    image[addr:addr + len(b)] = b


def get_i32(image, addr: int, count: int) -> np.ndarray:
    return np.frombuffer(bytes(image[addr:addr + 4 * count]), dtype="<i4").astype(np.int64)


def put_i16(image: bytearray, addr: int, values) -> None:
    b = np.asarray(values, dtype=np.int64).astype("<i2").tobytes()
    image[addr:addr + len(b)] = b


def get_i16(image, addr: int, count: int) -> np.ndarray:
    return np.frombuffer(bytes(image[addr:addr + 2 * count]), dtype="<i2").astype(np.int64)


__all__ = ["ALIGN", "align", "stream_geometry", "sparsity_code", "sparsity_nm", "zero_bytes", "pack_bits", "unpack_bits", "matrix_geometry", "matrix_bytes",
           "pack_matrix", "unpack_matrix", "kv_row_bytes", "kv_region_bytes", "kv_write", "kv_read",
           "put_i32", "get_i32", "put_i16", "get_i16"]
