"""The RTL benches' integer reference (sim/rtl_ref.py) agrees with the golden numerics
(codesign.quant.numerics.gemv_q / shift_round_sat32), so an MPE test passing against it is a
test against the golden model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
import rtl_ref  # noqa: E402

from codesign.quant import numerics  # noqa: E402


@pytest.mark.parametrize("wbits,abits,group,zp", [(4, 8, 32, False), (2, 4, 8, True), (8, 16, 16, False),
                                                   (8, 8, 32, False)])
@pytest.mark.parametrize("outlier", [None, 0, 2])
def test_gemv_tile_matches_golden(wbits, abits, group, zp, outlier):
    """Per-block activation exponents (numerics.quantize_activation): one block with an outlier
    makes its exponent the largest, e0 the others'; the reference follows gemv_q bit for bit."""
    rng = np.random.default_rng(wbits * 100 + abits)
    out_f, in_f = 5, 3 * group
    w = rng.normal(size=(out_f, in_f))
    wq = numerics.quantize_weight_groups(w, wbits, group, zero_point=zp)
    x = rng.integers(-(1 << 12), 1 << 12, size=(1, in_f))
    x[0, 2 * group - 1] = 1 << 14            # block 1 above the others
    if outlier is not None:
        x[0, outlier * group + 3] = -(1 << 27)
    xq, e = numerics.quantize_activation(x, abits, group)
    assert e.shape == (1, 3) and len(set(e[0].tolist())) > 1 or abits == 16
    exp = numerics.gemv_q(wq, xq, e)[0]
    got = rtl_ref.gemv_tile(wq.q.tolist(), xq[0].tolist(), wq.mant.tolist(), wq.zero.tolist(),
                            group, int(wq.shift), e[0].tolist())
    assert got == exp.tolist()
    rel, sh = rtl_ref.mpe_inputs(e[0], int(wq.shift))
    assert min(rel) == 0 and sh == wq.shift - e[0].min()


def test_gemv_tile_wraps_like_golden():
    """(acc * scale) << rel past 2^63 wraps in int64, in the golden model and in the reference."""
    group = 16   # W16 A16: acc_g ~ 2^34, times a 16-bit mantissa ~ 2^50, << 29 passes 2^63
    wq = numerics.WeightQ(q=np.full((2, 32), 32767, dtype=np.int64), zero=np.zeros((2, 2), dtype=np.int64),
                          mant=np.full((2, 2), 65535, dtype=np.int64), shift=40, bits=16, group=group,
                          zero_point=False, in_features=32)
    xq = np.array([[32767] * 32, [-32767] * 16 + [32767] * 16], dtype=np.int64)
    e = np.array([[0, 29], [2, 31]], dtype=np.int64)
    big = [int(((32767 * 32767 * group * 65535) << r)) for r in (29, 29)]
    assert all(b >= 1 << 63 for b in big)   # the case really wraps
    exp = numerics.gemv_q(wq, xq, e)
    for m in range(2):
        got = rtl_ref.gemv_tile(wq.q.tolist(), xq[m].tolist(), wq.mant.tolist(), wq.zero.tolist(),
                                group, 40, e[m].tolist())
        assert got == exp[m].tolist()


def test_requant_matches_golden_both_directions():
    vals = [0, 1, -1, 5, -5, (1 << 40) + 3, -(1 << 40) - 7, (1 << 31) - 1, -(1 << 31), (1 << 61)]
    # (1 << 62) at sh = 63 overflows the golden int64 rounding add (v + 2^62 wraps); the RTL
    # rounds in 65 bits. Totals stay below 2^48 (NUMERICS bound), so the case never arises.
    for sh in (-63, -40, -31, -3, 0, 1, 2, 17, 40, 63):
        exp = numerics.shift_round_sat32(np.array(vals), sh).tolist()
        assert [rtl_ref.requant(v, sh) for v in vals] == exp, sh
