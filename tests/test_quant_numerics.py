"""Each approximation of docs/NUMERICS.md against its documented bound, and the exact integer rules."""

import math

import numpy as np
import pytest

from codesign.quant import numerics as N


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_shift_round_sat32_rules():
    v = np.array([5, -5, 6, -6, 7, 1 << 40, -(1 << 40), 3, -3])
    sh = np.array([1, 1, 2, 2, -2, -1, -1, -40, 0])
    assert N.shift_round_sat32(v, sh).tolist() == [3, -2, 2, -1, 28, N.I32_MAX, N.I32_MIN, N.I32_MAX, -3]


def test_quantize_pow2_matches_contract(rng):
    x = rng.integers(N.I32_MIN, N.I32_MAX, size=(200, 33), endpoint=True)
    x[0] = 0
    x[1, :] = 127
    x[2, :] = -128
    for bits in (4, 8, 16):
        q, e = N.quantize_pow2(x, bits)
        qmax = (1 << (bits - 1)) - 1
        for row, qq, ee in zip(x, q, e):
            amax = int(np.abs(row).max())
            ref_e = 0
            while (amax >> ref_e) > qmax:
                ref_e += 1
            assert ee == ref_e
            for xv, qv in zip(row.tolist(), qq.tolist()):
                mag = (abs(xv) + ((1 << (ee - 1)) if ee else 0)) >> ee
                assert qv == max(-qmax, min(qmax, mag if xv >= 0 else -mag))
        # error bound: |q << e - x| <= 2^(e-1) except where clamped
        err = np.abs(N.dequantize_pow2(q, e) - x)
        assert np.all(err <= np.maximum(1 << np.maximum(e - 1, 0), 0)[:, None] + (1 << e)[:, None])


def test_isqrt_bound(rng):
    v = np.concatenate([np.arange(1, 5000), rng.integers(1, 1 << 62, 50000), rng.integers(1, 1 << 24, 20000),
                        [(1 << 62) - 1, 1 << 28, (1 << 30) - 1]])
    y, s = N.isqrt_norm(v)
    rel = np.abs(y * np.exp2(-(28.0 + s)) * np.sqrt(v * 2.0 ** -32) - 1)
    assert rel.max() < 2 ** -20


def test_seed_table_sizes():
    assert N.ISQRT_LUT.size == 48 and N.ISQRT_LUT.max() < (1 << 29)
    assert N.EXP_LUT.size == 256 and N.EXP_LUT[0] == 1 << 15 and N.EXP_LUT.max() < (1 << 16)
    assert N.SIG_LUT.size == 513 and N.SIG_LUT.max() < (1 << 16)
    assert N.LOG2E_Q == 47274


def test_softmax_bound(rng):
    s = rng.normal(0, 4, (2000, 37))
    valid = rng.random((2000, 37)) < 0.8
    valid[:, 0] = True
    p = N.softmax_int(N.to_fixed(s), valid) / 2.0 ** 15
    e = np.where(valid, np.exp(s - np.where(valid, s, -np.inf).max(-1, keepdims=True)), 0)
    e /= e.sum(-1, keepdims=True)
    assert np.abs(p - e).max() <= 0.004
    assert np.all(p[~valid] == 0)
    assert np.all(p.sum(-1) <= 1.0 + 37 * 2 ** -16)


def test_sigmoid_silu_bounds():
    g = np.linspace(-40, 40, 400001)
    gi = N.to_fixed(g)
    gf = N.from_fixed(gi)
    sig = 1 / (1 + np.exp(-gf))
    assert np.abs(N.sigmoid_fixed(gi) / 65536 - sig).max() <= 3.4e-4
    inside = np.abs(gf) < 8
    assert np.abs(N.sigmoid_fixed(gi[inside]) / 65536 - sig[inside]).max() <= 1.3e-5 + 2 ** -16
    err = np.abs(N.from_fixed(N.silu(gi)) - gf * sig)
    assert err.max() <= 0.0027 + 2 ** -16
    assert np.all(err[inside] <= np.abs(gf[inside]) * 1.3e-5 + 2 ** -15)


def test_rope_bound(rng):
    hd, pos = 64, 300
    tab = N.rope_table(pos, hd, 10000.0)
    assert tab.dtype == np.int16
    x = rng.normal(0, 3, (pos, 2, hd))
    xi = N.to_fixed(x)
    y = N.from_fixed(N.rope(xi, tab, np.arange(pos)))
    inv = 10000.0 ** (-np.arange(hd // 2) * 2.0 / hd)
    ang = np.arange(pos)[:, None, None] * inv
    xf = N.from_fixed(xi)
    x0, x1 = xf[..., :hd // 2], xf[..., hd // 2:]
    ref = np.concatenate([x0 * np.cos(ang) - x1 * np.sin(ang), x0 * np.sin(ang) + x1 * np.cos(ang)], -1)
    bound = np.concatenate([np.abs(x0) + np.abs(x1)] * 2, -1) * 2 ** -15 + 2 ** -16
    assert np.all(np.abs(y - ref) <= bound)


def test_rmsnorm_bound(rng):
    n = 576
    x = rng.normal(0, 0.5, (50, n))
    x[3] *= 1e3
    x[4] *= 1e-3   # tiny activations keep their precision (exact sum of squares)
    xi = N.to_fixed(x)
    gamma = rng.normal(1, 0.3, n)
    gq, gs = N.quantize_gamma(gamma)
    out = N.from_fixed(N.rmsnorm(xi, gq, gs, N.recip_n(n), N.eps_fixed(1e-5)))
    xf = N.from_fixed(xi)
    t = xf / np.sqrt((xf * xf).mean(-1, keepdims=True) + N.eps_fixed(1e-5) * 2.0 ** -32)
    ref = t * (gq * 2.0 ** -gs)
    bound = (2 ** -19 * np.abs(t) + 2 ** -16) * np.abs(gq * 2.0 ** -gs) + 2 ** -16
    assert np.all(np.abs(out - ref) <= bound)


def test_block_activation_quantizer(rng):
    # one exponent per block of `group` inputs: an outlier coarsens only its own block
    x = N.to_fixed(rng.normal(0, 0.5, (2, 200)))       # 200 = 3 x 64 + 8: a short last block
    x[0, 70] = N.to_fixed(300.0)
    q, e = N.quantize_activation(x, 8, 64)
    assert q.shape == x.shape and e.shape == (2, 4)
    for t in range(2):
        for b in range(4):
            blk = x[t, b * 64:(b + 1) * 64]
            qb, eb = N.quantize_pow2(blk[None], 8)
            assert int(e[t, b]) == int(eb[0]) and np.array_equal(q[t, b * 64:(b + 1) * 64], qb[0])
    assert e[0, 1] > e[0, 0] + 5 and e[0, 1] > e[0, 2] + 5     # only block 1 holds the outlier
    err = np.abs(N.dequantize_activation(q, e, 64) - x)
    assert np.all(err <= (np.int64(1) << np.repeat(e, 64, axis=1)[:, :200]) // 2)


def test_gemv_integer_rules(rng):
    # against an independent Python-int evaluation of the contract
    cases = ((4, False, 8, 0.05, 2), (3, True, 4, 0.05, 2), (8, False, 16, 0.05, 2), (16, False, 8, 0.05, 2),
             (2, True, 8, 0.05, 2), (4, False, 4, 2.0, 9000))   # last: shift - e < 0 and saturation
    for bits, zp, abits, wstd, xstd in cases:
        w = rng.normal(0, wstd, (5, 80))
        wq = N.quantize_weight_groups(w, bits, 32, zp)
        x = N.to_fixed(rng.normal(0, xstd, (3, 80)))
        y = N.gemv(wq, x, abits)
        xq, e = N.quantize_activation(x, abits, 32)
        assert e.shape == (3, wq.groups)
        for t in range(3):
            e0 = min(int(v) for v in e[t])
            for r in range(5):
                total = 0
                for g in range(wq.groups):
                    cols = range(g * 32, min((g + 1) * 32, 80))
                    acc = sum((int(wq.q[r, c]) - int(wq.zero[r, g])) * int(xq[t, c]) for c in cols)
                    total += (acc * int(wq.mant[r, g])) << (int(e[t, g]) - e0)
                sh = wq.shift - e0
                ref = (total + (1 << (sh - 1))) >> sh if sh > 0 else total << -sh
                assert y[t, r] == max(N.I32_MIN, min(N.I32_MAX, ref))
        if xstd > 1000:
            assert np.any(wq.shift - e < 0) and (np.any(y == N.I32_MAX) or np.any(y == N.I32_MIN))
        # dequantized weights within half a step of the float weights
        step = (wq.mant * 2.0 ** -wq.shift).max()
        assert np.abs(N.dequantize_weight_groups(wq) - w).max() <= step * 0.5 + 1e-12 or bits == 2


def test_weight_quant_matches_fake_quant(rng):
    import torch

    from codesign.quant.llm import fake_quant
    w = rng.normal(0, 0.05, (16, 576)).astype(np.float32)
    for bits, g, zp in ((4, 128, False), (3, 64, True), (8, 32, False), (16, 128, False)):
        ours = N.dequantize_weight_groups(N.quantize_weight_groups(w, bits, g, zp))
        theirs = fake_quant.quantize_weight(torch.from_numpy(w).double(), bits, g, zp).numpy()
        assert np.allclose(ours, theirs, rtol=0, atol=1e-12)


def test_route_topk():
    experts, weights = N.route_topk(N.to_fixed(np.array([[3, 1, 3, 0], [0, 5, 2, 9]])), 2)
    assert experts.tolist() == [[0, 2], [3, 1]]
    assert weights[0].tolist() == [16384, 16384]
    assert weights[1, 0] > weights[1, 1]
    assert math.isclose(weights[1].sum(), 32768, abs_tol=2)


def test_gemv_one_gemm_path_equals_group_path(rng):
    # the exact float64 one-GEMM path (tokens within its 2^52 bound) and the per-group int64 path
    # give the same totals; a token with one block far above its others takes the int64 path
    for bits, zp, abits, group in ((8, False, 8, 32), (4, True, 8, 64), (16, False, 16, 32), (3, False, 8, 32)):
        w = rng.normal(0, 0.05, (40, 256))
        wq = N.quantize_weight_groups(w, bits, group, zp)
        x = N.to_fixed(rng.normal(0, 1.0, (6, 256)))
        x[0] = N.to_fixed(rng.normal(0, 1e-5, 256))
        x[0, 5] = N.to_fixed(20000.0)           # token 0: one block exponent 24 above the others (0)
        x[1, :group] = 1                         # token 1: a near-zero block (e0 = 0)
        xq, e = N.quantize_activation(x, abits, group)
        xp = np.zeros((6, wq.groups * group), dtype=np.int64)
        xp[:, :256] = xq
        e0 = e.min(axis=1)
        total = np.zeros((6, 40), dtype=np.int64)
        exact = N._gemv_blas_rows(wq, xp, e, e0, total)
        ref = N._gemv_total_int(wq, xp, e, e0)
        assert np.array_equal(total[exact], ref[exact]), (bits, zp, abits)
        assert not exact[0] and (exact[1:].all() or bits == 16), (bits, exact)
        assert np.array_equal(N.gemv_q(wq, xq, e), N.shift_round_sat32(ref, wq.shift - e0[:, None]))


def test_attention_blas_equals_int64(rng, monkeypatch):
    # the float64 BLAS products in attention (bounded below 2^53) equal the int64 einsums
    q = N.to_fixed(rng.normal(0, 3.0, (5, 4, 16)))
    k = N.to_fixed(rng.normal(0, 3.0, (5, 2, 16)))
    v = N.to_fixed(rng.normal(0, 300.0, (5, 2, 16)))
    kq, ke = N.quantize_kv(k, 8)
    vq, ve = N.quantize_kv(v, 8)
    args = (q, kq.transpose(1, 0, 2), ke.T, vq.transpose(1, 0, 2), ve.T, np.arange(1, 6), 8, N.attn_scale(16))
    fast = N.attention(*args)
    calls = []
    monkeypatch.setattr(N, "_matmul_exact", lambda a, b: calls.append(1) or np.einsum("...ij,...jk->...ik", a, b))
    assert np.array_equal(fast, N.attention(*args)) and len(calls) == 2
