"""Integer reference of the MPE tile (the numerics contract's GEMV, written independently of
the RTL and of numerics.gemv_q): per group acc_g = sum (w - z) * x, the activation block exponents
e_g (one per group), e0 = min_g e_g, total = sum_g wrap64((acc_g * scale_g) << (e_g - e0)),
y = shift_round_sat32(total, shift - e0): sh > 0 round half up, sh <= 0 saturating left shift."""

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


def gemv_tile(w, x, scale, zero, group: int, shift: int, e=None) -> list[int]:
    """w[r][k] (signed, or unsigned with zero points), x[k] (quantized), scale[r][g], zero[r][g],
    e[g] the activation exponent of each group's input block (None: all 0), `shift` the
    instruction's shift (before e0 is folded in)."""
    k = len(x)
    ng = k // group
    e = [0] * ng if e is None else [int(v) for v in e]
    e0 = min(e)
    out = []
    for r in range(len(w)):
        total = 0
        for g in range(ng):
            acc = sum((w[r][i] - zero[r][g]) * x[i] for i in range(g * group, (g + 1) * group))
            total = wrap64(total + wrap64((acc * scale[r][g]) << (e[g] - e0)))
        out.append(requant(total, shift - e0))
    return out


def mpe_inputs(e, shift: int) -> tuple[list[int], int]:
    """What the sequencer drives into the MPE for block exponents e[g]: (rel[g], cfg_shift)."""
    e0 = min(int(v) for v in e)
    return [int(v) - e0 for v in e], shift - e0
