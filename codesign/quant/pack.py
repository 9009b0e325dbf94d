"""Memory images: weights, KV cache and IO packed exactly as the hardware reads them (docs/NUMERICS.md,
"Memory images"). Every writer has its reader; the executor reads only through the readers."""

from __future__ import annotations

import numpy as np

from .numerics import SCALE_BITS, WeightQ

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
def matrix_geometry(n: int, k: int, bits: int, group: int, zero_point: bool, rows: int, cols: int) -> dict:
    """Sizes of one packed matrix for a ROWS x COLS MPE."""
    if max(cols, group) % min(cols, group):
        raise ValueError(f"one of cols={cols}, group={group} must divide the other")
    kp = -(-k // max(cols, group)) * max(cols, group)
    npad = -(-n // rows) * rows
    ng = kp // group
    beat = -(-rows * cols * bits // 8)
    scale_b = align(rows * ng * 2)
    zero_b = align(rows * ng * zero_bytes(bits)) if zero_point else 0
    weight_b = align(beat * (kp // cols))
    tile = scale_b + zero_b + weight_b
    return {"k_pad": kp, "n_pad": npad, "groups": ng, "beat_bytes": beat, "scale_bytes": scale_b,
            "zero_bytes": zero_b, "weight_bytes": weight_b, "tile_bytes": tile, "tiles": npad // rows,
            "bytes": tile * (npad // rows)}


def zero_bytes(bits: int) -> int:
    """Bytes per stored zero point: uint8 for W <= 8, uint16 for W = 16."""
    return 1 if bits <= 8 else 2


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


__all__ = ["ALIGN", "SCALE_BITS", "align", "zero_bytes", "pack_bits", "unpack_bits", "matrix_geometry", "matrix_bytes",
           "pack_matrix", "unpack_matrix", "kv_row_bytes", "kv_region_bytes", "kv_write", "kv_read",
           "put_i32", "get_i32", "put_i16", "get_i16"]
