"""Scoreboard functions for the SFU cocotb tests: thin adapters onto the golden model.

Every expected value comes from `codesign.quant.numerics` (the golden integer arithmetic);
this module only reshapes flat lane vectors to and from the golden API.
"""

from __future__ import annotations

import numpy as np

from codesign.quant import numerics as nm


def residual_add(a, b, w: int | None = None) -> list[int]:
    """ADD (w None) or the MoE combine with Q0.15 routing weight w."""
    if w is None:
        return nm.add_sat(a, b).tolist()
    return nm.add_weighted(a, b, w).tolist()


def quantize_pow2(x, bits: int) -> tuple[list[int], int]:
    q, e = nm.quantize_pow2(np.asarray(x, dtype=np.int64)[None, :], bits)
    return q[0].tolist(), int(e[0])


def quantize_blocks(x, bits: int, group: int) -> tuple[list[int], list[int]]:
    """GEMV input quantizer: one exponent per block of `group` elements (numerics.quantize_activation)."""
    q, e = nm.quantize_activation(np.asarray(x, dtype=np.int64)[None, :], bits, group)
    return q[0].tolist(), e[0].tolist()


def rope_rotate(x0, x1, cos, sin) -> tuple[list[int], list[int]]:
    """Golden rope() on one token, one head of head_dim = 2n: x = [x0 | x1], table row = (cos, sin)."""
    n = len(x0)
    x = np.concatenate([np.asarray(x0, np.int64), np.asarray(x1, np.int64)])[None, None, :]
    table = np.stack([np.asarray(cos, np.int64), np.asarray(sin, np.int64)], axis=-1)[None]
    y = nm.rope(x, table, [0])[0, 0]
    return y[:n].tolist(), y[n:].tolist()


def swiglu(gate, up) -> list[int]:
    return nm.swiglu(np.asarray(gate, np.int64), np.asarray(up, np.int64)).tolist()


def softmax(scores) -> list[int]:
    return nm.softmax_int(np.asarray(scores, np.int64)[None, :])[0].tolist()


def rmsnorm(x, gamma_q, gamma_shift: int, mult: int, eps_q: int) -> list[int]:
    return nm.rmsnorm(np.asarray(x, np.int64)[None, :], np.asarray(gamma_q, np.int64),
                      gamma_shift, mult, eps_q)[0].tolist()
