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

numerics = pytest.importorskip("codesign.quant.numerics")


@pytest.mark.parametrize("wbits,abits,group,zp", [(4, 8, 32, False), (2, 4, 8, True), (8, 16, 16, False)])
def test_gemv_tile_matches_golden(wbits, abits, group, zp):
    rng = np.random.default_rng(wbits * 100 + abits)
    out_f, in_f = 5, 3 * group
    w = rng.normal(size=(out_f, in_f))
    wq = numerics.quantize_weight_groups(w, wbits, group, zero_point=zp)
    x = rng.integers(-(1 << 20), 1 << 20, size=(1, in_f))
    xq, e = numerics.quantize_activation(x, abits)
    exp = numerics.gemv_q(wq, xq, e)[0]
    got = rtl_ref.gemv_tile(wq.q.tolist(), xq[0].tolist(), wq.mant.tolist(), wq.zero.tolist(),
                            group, int(wq.shift - e[0]))
    assert got == exp.tolist()


def test_requant_matches_golden_both_directions():
    vals = [0, 1, -1, 5, -5, (1 << 40) + 3, -(1 << 40) - 7, (1 << 31) - 1, -(1 << 31), (1 << 61)]
    # (1 << 62) at sh = 63 overflows the golden int64 rounding add (v + 2^62 wraps); the RTL
    # rounds in 65 bits. Totals stay below 2^48 (NUMERICS bound), so the case never arises.
    for sh in (-63, -40, -31, -3, 0, 1, 2, 17, 40, 63):
        exp = numerics.shift_round_sat32(np.array(vals), sh).tolist()
        assert [rtl_ref.requant(v, sh) for v in vals] == exp, sh
