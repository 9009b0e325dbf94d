"""Memory images: weights, KV cache and IO packed exactly as the hardware reads them (docs/NUMERICS.md,
"Memory images"). Every writer has its reader; the executor reads only through the readers."""

from __future__ import annotations

import numpy as np

from .numerics import SCALE_BITS, ZERO_BITS, WeightQ

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
def stream_geometry(n, k, bits, group, zero_point, rows, cols) -> dict:
    """Sizes of one packed weight matrix for a ROWS x COLS MPE: THE definition of the weight-stream
    layout (the packer below writes it, the analytical model prices it: model/cycles.py).

    Array-capable: every argument may be a numpy array (broadcast together; float or int); the
    result holds arrays of the broadcast shape. Per tile of ``rows`` outputs: the scale block
    (``SCALE_BITS`` per row and group), the zero-point block (``zero_bytes(bits)`` per row and group,
    only with zero points), then the weight beats (rows x cols weights each); each block padded to
    ALIGN bytes. k is padded to a multiple of max(cols, group). W16 keeps its per-row scale
    replicated in every group slot (numerics.quantize_weight_groups), so it has k_pad / group groups
    like every width. No divisibility check here (``matrix_geometry`` checks one matrix; the model
    flags such points as violations)."""
    n, k, bits, group, zero_point, rows, cols = (_as_float(v) for v in (n, k, bits, group, zero_point, rows, cols))
    span = np.maximum(cols, group)
    kp = np.ceil(k / span) * span
    tiles = np.ceil(n / rows)
    ng = kp / group
    beat = np.ceil(rows * cols * bits / 8)
    scale_b = _align_arr(rows * ng * SCALE_BITS / 8)
    zb = np.where(bits <= 8, ZERO_BITS // 8, 2).astype(bits.dtype)
    zero_b = (zero_point != 0) * _align_arr(rows * ng * zb)
    weight_b = _align_arr(beat * (kp / cols))
    tile = scale_b + zero_b + weight_b
    return {"k_pad": kp, "n_pad": tiles * rows, "groups": ng, "beats": kp / cols, "beat_bytes": beat,
            "scale_bytes": scale_b, "zero_bytes": zero_b, "weight_bytes": weight_b, "tile_bytes": tile,
            "tiles": tiles, "bytes": tile * tiles}


def _as_float(v):
    """Floats keep their dtype (the sweep runs in float32: every size here is an integer below 2^24,
    exact in it); ints and bools become float64."""
    a = np.asarray(v)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _align_arr(n):
    return np.ceil(n / ALIGN) * ALIGN


def matrix_geometry(n: int, k: int, bits: int, group: int, zero_point: bool, rows: int, cols: int) -> dict:
    """``stream_geometry`` of one matrix, as ints; raises when neither cols nor group divides the other."""
    if max(cols, group) % min(cols, group):
        raise ValueError(f"one of cols={cols}, group={group} must divide the other")
    return {key: int(v) for key, v in stream_geometry(n, k, bits, group, zero_point, rows, cols).items()}


def zero_bytes(bits: int) -> int:
    """Bytes per stored zero point: numerics.ZERO_BITS (uint8) for W <= 8, uint16 for W = 16
    (stream_geometry holds the same rule for arrays)."""
    return ZERO_BITS // 8 if bits <= 8 else 2


def matrix_bytes(n: int, k: int, bits: int, group: int, zero_point: bool, rows: int, cols: int) -> int:
    return matrix_geometry(n, k, bits, group, zero_point, rows, cols)["bytes"]


def pack_matrix(wq: WeightQ, rows: int, cols: int) -> bytes:
    """The weight stream of one matrix (scales, zero points, weight beats per row tile)."""
    n, k = wq.out_features, wq.in_features
    g = matrix_geometry(n, k, wq.bits, wq.group, wq.zero_point, rows, cols)
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
    out = bytearray()
    for r0 in range(0, npad, rows):
        sc = mant[r0:r0 + rows].T.astype("<u2").tobytes()          # for g, for r
        out += sc + bytes(g["scale_bytes"] - len(sc))
        if wq.zero_point:
            zb = zero[r0:r0 + rows].T.astype("<u2" if zero_bytes(wq.bits) == 2 else np.uint8).tobytes()
            out += zb + bytes(g["zero_bytes"] - len(zb))
        tile = q[r0:r0 + rows]                                      # [rows, kp]
        beats = tile.reshape(rows, kp // cols, cols).transpose(1, 0, 2)   # [beat, r, c]
        wb = b"".join(pack_bits(b, wq.bits) for b in beats)
        out += wb + bytes(g["weight_bytes"] - len(wb))
    assert len(out) == g["bytes"]
    return bytes(out)


def unpack_matrix(data, n: int, k: int, bits: int, group: int, zero_point: bool, shift: int,
                  rows: int, cols: int) -> WeightQ:
    """Read one matrix back from its stream (the executor's view of gmem_w)."""
    g = matrix_geometry(n, k, bits, group, zero_point, rows, cols)
    data = bytes(data)
    if len(data) < g["bytes"]:
        raise ValueError(f"weight stream truncated: {len(data)} < {g['bytes']} bytes")
    kp, npad, ng = g["k_pad"], g["n_pad"], g["groups"]
    q = np.zeros((npad, kp), dtype=np.int64)
    zero = np.zeros((npad, ng), dtype=np.int64)
    mant = np.zeros((npad, ng), dtype=np.int64)
    nbeats = kp // cols
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
        vals = [unpack_bits(raw[b * g["beat_bytes"]:(b + 1) * g["beat_bytes"]], rows * cols, bits,
                            signed=not zero_point) for b in range(nbeats)]
        q[r0:r0 + rows] = np.stack(vals).reshape(nbeats, rows, cols).transpose(1, 0, 2).reshape(rows, kp)
    ngr = -(-k // group)
    return WeightQ(q=q[:n, :ngr * group], zero=zero[:n, :ngr], mant=mant[:n, :ngr], shift=shift, bits=bits,
                   group=group, zero_point=zero_point, in_features=k)


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


__all__ = ["ALIGN", "align", "stream_geometry", "zero_bytes", "pack_bits", "unpack_bits", "matrix_geometry", "matrix_bytes",
           "pack_matrix", "unpack_matrix", "kv_row_bytes", "kv_region_bytes", "kv_write", "kv_read",
           "put_i32", "get_i32", "put_i16", "get_i16"]
