"""Packed memory layouts (docs/NUMERICS.md, "Memory images"): exact round trips and byte positions."""

import numpy as np
import pytest

from codesign.quant import numerics as N
from codesign.quant import pack as P


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("zp", [False, True])
@pytest.mark.parametrize("rows,cols,group", [(8, 16, 32), (3, 64, 32), (32, 64, 128), (4, 8, 64)])
def test_matrix_round_trip(bits, zp, rows, cols, group):
    rng = np.random.default_rng(bits * 7 + rows)
    w = rng.normal(0.01, 0.05, (37, 100))
    wq = N.quantize_weight_groups(w, bits, group, zp)
    data = P.pack_matrix(wq, rows, cols)
    geo = P.matrix_geometry(37, 100, bits, group, zp, rows, cols)
    assert len(data) == geo["bytes"] == P.matrix_bytes(37, 100, bits, group, zp, rows, cols)
    assert len(data) % P.ALIGN == 0
    back = P.unpack_matrix(data, 37, 100, bits, group, zp, wq.shift, rows, cols)
    assert np.array_equal(back.q, wq.q) and np.array_equal(back.zero, wq.zero) and np.array_equal(back.mant, wq.mant)


def test_first_beat_bit_positions():
    # symmetric 4-bit, 2 rows x 4 cols: beat 0 holds row 0 cols 0..3 then row 1 cols 0..3, 4 bits each, LSB first
    w = np.zeros((2, 8))
    w[0, :4] = [1, -1, 2, -2]
    w[1, :4] = [3, 0, -3, 1]
    wq = N.quantize_weight_groups(w, 4, 8, False)
    q = wq.q
    data = P.pack_matrix(wq, 2, 4)
    geo = P.matrix_geometry(2, 8, 4, 8, False, 2, 4)
    beat0 = data[geo["scale_bytes"]:geo["scale_bytes"] + geo["beat_bytes"]]
    nibbles = [(b >> s) & 0xF for b in beat0 for s in (0, 4)]
    expect = [int(v) & 0xF for v in list(q[0, :4]) + list(q[1, :4])]
    assert nibbles == expect
    # the scale block: for g, for r: uint16 mantissas
    assert list(np.frombuffer(data[:4], "<u2")) == [wq.mant[0, 0], wq.mant[1, 0]]


def test_bits_round_trip_and_errors():
    v = np.array([-4, 3, -1, 0, 2, -3])
    assert P.unpack_bits(P.pack_bits(v, 3), 6, 3, True).tolist() == v.tolist()
    with pytest.raises(ValueError):
        P.unpack_bits(b"\x00", 4, 3, True)
    with pytest.raises(ValueError):
        P.matrix_geometry(4, 4, 4, 32, False, 4, 48)
    wq = N.quantize_weight_groups(np.ones((4, 32)), 4, 32)
    with pytest.raises(ValueError, match="truncated"):
        P.unpack_matrix(P.pack_matrix(wq, 4, 32)[:-1], 4, 32, 4, 32, False, wq.shift, 4, 32)


def test_kv_round_trip():
    for bits in (4, 8, 16):
        img = bytearray(P.kv_region_bytes(2, 5, 12, bits))
        rng = np.random.default_rng(bits)
        qmax = (1 << (bits - 1)) - 1
        rows = {(w, h, t): (rng.integers(-qmax, qmax + 1, 12), int(rng.integers(0, 30)))
                for w in "kv" for h in range(2) for t in range(4)}
        for (w, h, t), (q, e) in rows.items():
            P.kv_write(img, 0, w, h, t, q, e, 2, 5, 12, bits)
        for w in "kv":
            q, e = P.kv_read(img, 0, w, 4, 2, 5, 12, bits)
            for h in range(2):
                for t in range(4):
                    assert q[h, t].tolist() == rows[(w, h, t)][0].tolist() and e[h, t] == rows[(w, h, t)][1]
        with pytest.raises(ValueError):
            P.kv_write(img, 0, "k", 0, 5, np.zeros(12), 0, 2, 5, 12, bits)
