"""Scoreboard functions for the SFU cocotb tests: thin adapters onto the golden model.

Every expected value comes from `codesign.quant` (the golden integer arithmetic);
this module only reshapes vectors between the golden API and the per-lane streams.
"""

from __future__ import annotations

import numpy as np

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def residual_add(a, b) -> list[int]:
    # golden residual add: int32 saturation
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    return np.clip(s, I32_MIN, I32_MAX).tolist()


def quantize_pow2(x, bits: int) -> tuple[list[int], int]:
    # golden per-token power-of-two quantizer (contract: common brief / NUMERICS.md)
    x = np.asarray(x, dtype=np.int64)
    m = int(np.max(np.abs(x))) if x.size else 0
    e = max(0, m.bit_length() - (bits - 1))
    qmax = (1 << (bits - 1)) - 1
    if e == 0:
        q = x
    else:
        mag = (np.abs(x) + (1 << (e - 1))) >> e
        q = np.where(x < 0, -mag, mag)
    return np.clip(q, -qmax, qmax).tolist(), e


def rope_rotate(x0, x1, cos, sin, frac: int = 14) -> tuple[list[int], list[int]]:
    # golden RoPE rotation: Q1.frac tables, round half up, int32 saturation
    x0, x1 = np.asarray(x0, np.int64), np.asarray(x1, np.int64)
    c, s = np.asarray(cos, np.int64), np.asarray(sin, np.int64)
    half = 1 << (frac - 1)
    y0 = (x0 * c - x1 * s + half) >> frac
    y1 = (x0 * s + x1 * c + half) >> frac
    return np.clip(y0, I32_MIN, I32_MAX).tolist(), np.clip(y1, I32_MIN, I32_MAX).tolist()
