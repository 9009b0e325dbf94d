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


# ----------------------------------------------------------------------------- N:M sparse stream
@pytest.mark.parametrize("sparsity", ["2:4", "4:8"])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("zp", [False, True])
@pytest.mark.parametrize("rows,cols,group", [(8, 16, 32), (3, 64, 32), (32, 64, 128), (4, 8, 64)])
def test_sparse_matrix_round_trip(sparsity, bits, zp, rows, cols, group):
    n_keep, m = N.parse_sparsity(sparsity)
    rng = np.random.default_rng(bits * 11 + rows)
    w = rng.normal(0.01, 0.05, (37, 100))
    wq = N.quantize_weight_groups(w, bits, group, zp, sparsity=sparsity)
    # every block of m inputs has at most n_keep non-zero weights (q - zero)
    d = wq.q - np.repeat(wq.zero, group, axis=1)
    assert np.count_nonzero(d.reshape(37, -1, m), axis=-1).max() <= n_keep
    data = P.pack_matrix(wq, rows, cols)
    geo = P.matrix_geometry(37, 100, bits, group, zp, rows, cols, sparsity)
    assert len(data) == geo["bytes"] == P.matrix_bytes(37, 100, bits, group, zp, rows, cols, sparsity)
    assert geo["beat_bytes"] == -(-rows * cols * (bits + N.sparse_index_bits(m)) // 8)
    assert geo["beat_inputs"] == cols * m // n_keep
    back = P.unpack_matrix(data, 37, 100, bits, group, zp, wq.shift, rows, cols, sparsity)
    assert np.array_equal(back.q, wq.q) and np.array_equal(back.zero, wq.zero) and np.array_equal(back.mant, wq.mant)
    assert P.pack_matrix(back, rows, cols) == data
    # the scale (+ zero) blocks are those of the dense stream; the beats are (W + IB) / W * N / M of it
    dense = P.matrix_geometry(37, 100, bits, group, zp, rows, cols)
    if dense["k_pad"] == geo["k_pad"]:
        assert (geo["scale_bytes"], geo["zero_bytes"]) == (dense["scale_bytes"], dense["zero_bytes"])


def test_prune_nm_keeps_the_largest_with_ties_to_the_lower_index():
    w = np.array([[0.1, -0.5, 0.3, 0.2, 1.0, 1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0]])
    got = N.prune_nm(w, 2, 4)
    assert got.tolist() == [[0.0, -0.5, 0.3, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0]]
    assert np.array_equal(N.prune_nm(w, 4, 4), w)
    assert N.parse_sparsity("dense") == (1, 1) and N.parse_sparsity("4:8") == (4, 8)
    assert [N.sparse_index_bits(m) for m in (1, 2, 4, 8, 16)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        N.parse_sparsity("3:2")


def test_sparse_first_beat_bit_positions():
    # 2:4, symmetric W4, 2 rows x 2 cols: a beat covers 4 inputs per row; lane (r, c) at bit (r*2 + c)*6:
    # the kept weight in bits [0, 4), its index in the block of 4 in bits [4, 6)
    w = np.zeros((2, 8))
    w[0, :4] = [0, 3, 0, -2]       # kept: index 1 (3), index 3 (-2)
    w[1, :4] = [-1, 0, 2, 0]       # kept: index 0 (-1), index 2 (2)
    wq = N.quantize_weight_groups(w, 4, 8, False, sparsity="2:4")
    data = P.pack_matrix(wq, 2, 2)
    geo = P.matrix_geometry(2, 8, 4, 8, False, 2, 2, "2:4")
    assert geo["beat_bytes"] == 3 and geo["beats"] == 2
    beat0 = int.from_bytes(data[geo["scale_bytes"]:geo["scale_bytes"] + 3], "little")
    lanes = [(beat0 >> (6 * i)) & 0x3F for i in range(4)]
    expect = [(int(wq.q[0, 1]) & 0xF) | 1 << 4, (int(wq.q[0, 3]) & 0xF) | 3 << 4,
              (int(wq.q[1, 0]) & 0xF) | 0 << 4, (int(wq.q[1, 2]) & 0xF) | 2 << 4]
    assert lanes == expect and wq.q[0, 1] > 0 > wq.q[0, 3]


def test_sparse_stream_errors():
    # a dense matrix tagged sparse is refused by the packer; a planted repeated index by the reader
    wq = N.quantize_weight_groups(np.ones((4, 32)), 4, 32)
    import dataclasses
    with pytest.raises(ValueError, match="more than 2 non-zero"):
        P.pack_matrix(dataclasses.replace(wq, sparsity="2:4"), 4, 8)
    sq = N.quantize_weight_groups(np.random.default_rng(0).normal(size=(4, 32)), 4, 32, sparsity="2:4")
    data = bytearray(P.pack_matrix(sq, 4, 8))
    geo = P.matrix_geometry(4, 32, 4, 32, False, 4, 8, "2:4")
    lane0 = data[geo["scale_bytes"]] | data[geo["scale_bytes"] + 1] << 8          # bits [0, 12): lanes 0, 1
    idx0, idx1 = (lane0 >> 4) & 3, (lane0 >> 10) & 3
    assert idx0 < idx1
    bad = (lane0 & ~(3 << 10)) | idx0 << 10                                         # lane 1 names lane 0's input
    data[geo["scale_bytes"]], data[geo["scale_bytes"] + 1] = bad & 0xFF, (bad >> 8) & 0xFF
    with pytest.raises(ValueError, match="repeats an index"):
        P.unpack_matrix(bytes(data), 4, 32, 4, 32, False, sq.shift, 4, 8, "2:4")
    with pytest.raises(ValueError, match="N = 4 must divide cols"):
        P.matrix_geometry(4, 32, 4, 32, False, 4, 6, "4:8")
    with pytest.raises(ValueError, match="M = 8 must divide group"):
        N.quantize_weight_groups(np.ones((2, 12)), 4, 4, sparsity="4:8")


def test_stream_geometry_keeps_float32_and_prices_sparse_codes():
    f = np.float32
    codes = np.array([0, 1, 2], dtype=f)
    g = P.stream_geometry(np.array([4096], f), np.array([4096], f), np.array([4], f), np.array([128], f),
                          np.array([0], f), np.array([32], f), np.array([64], f), codes)
    assert all(v.dtype == np.float32 for v in g.values())
    for i, name in enumerate(("dense", "2:4", "4:8")):
        assert g["bytes"][i] == P.matrix_bytes(4096, 4096, 4, 128, False, 32, 64, name)
    assert g["weight_bytes"][1] == 0.75 * g["weight_bytes"][0] and g["scale_bytes"][1] == g["scale_bytes"][0]
