"""Integer reference of the MPE tile (the numerics contract's GEMV, written independently of
the RTL): per group acc_g = sum (w - z) * x, total = sum_g acc_g * scale_g (int64 wrap),
y = shift_round_sat32(total, sh): sh > 0 round half up, sh <= 0 saturating left shift."""

from __future__ import annotations

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def wrap64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def requant(total: int, shift: int) -> int:
    """numerics.shift_round_sat32 for one value (written out here, independently)."""
    if shift > 0:
        total = (total + (1 << (shift - 1))) >> shift
        return max(I32_MIN, min(I32_MAX, total))
    lsh = -shift
    lim = I32_MAX >> min(lsh, 62)
    if total > lim:
        return I32_MAX
    if total < -lim - 1:
        return I32_MIN
    return total << min(lsh, 31)


def gemv_tile(w, x, scale, zero, group: int, shift: int) -> list[int]:
    """w[r][k] (signed, or unsigned with zero points), x[k], scale[r][g], zero[r][g]."""
    out = []
    k = len(x)
    for r in range(len(w)):
        total = 0
        for g in range(k // group):
            acc = sum((w[r][i] - zero[r][g]) * x[i] for i in range(g * group, (g + 1) * group))
            total = wrap64(total + acc * scale[r][g])
        out.append(requant(total, shift))
    return out
