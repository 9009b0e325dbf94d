"""Vectorised CSV formatting: numpy columns -> CSV bytes without a loop per row.

Python's ``'%g' % x`` costs ~10 us per row at 40 columns, which would make
writing every point slower than evaluating it. Here each column becomes a
fixed-width byte matrix built with array arithmetic, padded with NUL bytes;
the columns are joined with commas and the NULs are dropped in one pass.

Formats (deterministic, the same bytes for the same values):
- int: plain decimal (``-12``).
- bool: ``true`` / ``false``.
- float: ``SIG`` significant digits, like ``'%.8g'``: fixed notation for
  exponents in [-4, SIG), otherwise ``1.2345e+09``; trailing zeros dropped;
  NaN is an empty field (a value that is not known), infinities ``inf``/``-inf``.
  The mantissa is rounded in binary floating point (x * 10^k, then rint), so a
  value whose 9th digit is a tie may end one unit away from printf's correctly
  rounded result in the 8th digit; -0.0 prints as ``0``.
- labels: an int code per row and a list of label strings (quoted as needed).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SIG = 8
BLOCK = 32768  # rows formatted at a time (bounds the byte matrices to ~10 MB)
_ZERO = ord("0")
_SMALL_RANGE = 4096   # an int column spanning fewer values is formatted per value, then gathered
_POW10_OFF = 400
with np.errstate(over="ignore"):
    _POW10 = np.power(10.0, np.arange(-_POW10_OFF, _POW10_OFF + 1).astype(np.float64))


# "0000".."9999" as a (10000, 4) byte table: digits come from base-10^4 limbs
_LUT4 = np.array([list(f"{i:04d}".encode()) for i in range(10000)], dtype=np.uint8)
_DIGIT_BYTES = np.ascontiguousarray(_LUT4).view(np.uint32).ravel()  # 4 ASCII digits per uint32



def _digits(x: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative int64 x (< 10**width), most significant first."""
    limbs = -(-width // 4)
    parts = []
    rest = x
    for _ in range(limbs):
        rest, low = np.divmod(rest, 10000)
        parts.append(_DIGIT_BYTES[low])
    out = np.stack(parts[::-1], axis=1).view(np.uint8)
    return out[:, out.shape[1] - width:]


def format_int(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    if x.size > 4 * _SMALL_RANGE:
        lo, hi = int(x.min()), int(x.max())
        if hi - lo < _SMALL_RANGE:   # few values (design parameters): format each once, gather rows
            return format_int(np.arange(lo, hi + 1))[x - lo]
    ax = np.abs(x)
    width = max(1, len(str(int(ax.max())))) if x.size else 1
    digits = _digits(ax, width)
    # blank leading zeros (keep the last digit)
    nd = np.ones(x.size, dtype=np.int64)
    for k in range(1, width):
        nd += ax >= 10 ** k
    lead = np.arange(width)[None, :] < (width - nd)[:, None]
    digits[lead] = 0
    sign = np.where(x < 0, ord("-"), 0).astype(np.uint8)[:, None]
    return np.concatenate([sign, digits], axis=1)


def format_bool(x: np.ndarray) -> np.ndarray:
    table = np.zeros((2, 5), dtype=np.uint8)
    table[0, :5] = np.frombuffer(b"false", dtype=np.uint8)
    table[1, :4] = np.frombuffer(b"true", dtype=np.uint8)
    return table[np.asarray(x, dtype=bool).astype(np.int64)]


def _quote(s: str) -> str:
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def format_labels(codes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    enc = [_quote(s).encode("utf-8") for s in labels]
    width = max([len(b) for b in enc] + [1])
    table = np.zeros((max(len(enc), 1), width), dtype=np.uint8)
    for i, b in enumerate(enc):
        table[i, :len(b)] = np.frombuffer(b, dtype=np.uint8) if b else []
    return table[np.asarray(codes, dtype=np.int64)]




def format_float(x: np.ndarray) -> np.ndarray:
    """Like '%.8g' (NaN -> empty): (n, 27) bytes, NUL where a notation leaves a slot unused.
    Built one character position at a time (contiguous rows of a (27, n) array, small ints):
      [-] [0 . 0 0 0] D0 s0 D1 s1 ... D7 s7 [e +/- h t u]
    prefix "0.000" only for -4 <= e < 0 (with 3 - (-e-1) of its zeros blanked), the point in
    slot s_e (fixed) or s_0 (scientific), the exponent only for scientific; a slot group no value
    of the block uses is left out."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    sig = SIG
    finite = np.isfinite(x)
    nonzero = finite & (x != 0)
    ax = np.where(nonzero, np.abs(x), 1.0)
    e = np.floor(np.log10(ax)).astype(np.int32)
    # x * 10^(7-e) rounded: 8 significant digits (10^k from a table: the same values as np.power)
    m = np.rint(ax * _POW10[(sig - 1 + _POW10_OFF) - e]).astype(np.int64)
    # log10 rounding can put m one decade off; fix both directions
    lo, hi = 10 ** (sig - 1), 10 ** sig
    for off, sel in ((-1, m < lo), (1, m >= hi)):
        if sel.any():
            e[sel] += off
            m[sel] = np.rint(ax[sel] * _POW10[(sig - 1 + _POW10_OFF) - e[sel]]).astype(np.int64)
    r = np.clip(m, lo, hi - 1).astype(np.int32)
    # decimal digits, least significant first, and the mantissa's trailing zeros
    digits = [None] * sig
    tz = np.zeros(n, dtype=np.int32)
    run = np.ones(n, dtype=bool)
    for k in range(sig - 1, -1, -1):
        q = r // 10
        d = r - q * 10
        r = q
        if k:
            run &= d == 0
            tz += run
        digits[k] = d.astype(np.uint8) + np.uint8(_ZERO)
    # drop trailing zeros of the mantissa, except in the integer part of fixed notation
    fixed_pos = (e >= 0) & (e < sig)
    fixed_neg = (e < 0) & (e >= -4)
    sci = ~(fixed_pos | fixed_neg)
    keep_from = np.where(fixed_pos, e + 1, np.where(fixed_neg, 0, 1)).astype(np.int32)
    first_blank = np.maximum(sig - tz, keep_from)
    has_frac = first_blank > keep_from
    # only the slots some row of this block uses (the text is the same; fewer NULs to drop)
    neg = (x < 0) & nonzero
    sign_w, prefix_w, exp_w = int(neg.any()), 5 * int(fixed_neg.any()), 5 * int(sci.any())
    d0 = sign_w + prefix_w                       # first digit slot; D_k at d0 + 2k, s_k after it
    t = d0 + 2 * sig - 1                         # s7 is never a point (e = 7 has no fraction)
    body = np.zeros((n, t + exp_w), dtype=np.uint8).T   # (position, row) view of the row-major text
    if sign_w:
        body[0] = neg * np.uint8(ord("-"))
    if prefix_w:
        body[sign_w] = fixed_neg * np.uint8(_ZERO)
        body[sign_w + 1] = fixed_neg * np.uint8(ord("."))
        nz = np.where(fixed_neg, -e - 1, 0)
        for z in range(3):
            body[sign_w + 2 + z] = (nz > z) * np.uint8(_ZERO)
    for k in range(sig):
        body[d0 + 2 * k] = digits[k] * (first_blank > k)
    dot_slot = np.where(has_frac & ~fixed_neg, np.where(fixed_pos, e, 0), -1)
    for c in range(sig - 1):
        body[d0 + 2 * c + 1] = (dot_slot == c) * np.uint8(ord("."))
    if exp_w:
        ae = np.abs(e)
        body[t] = sci * np.uint8(ord("e"))
        body[t + 1] = np.where(e < 0, np.uint8(ord("-")), np.uint8(ord("+"))) * sci
        body[t + 2] = (ae // 100 + _ZERO) * (sci & (ae >= 100))
        body[t + 3] = ((ae // 10) % 10 + _ZERO) * sci
        body[t + 4] = (ae % 10 + _ZERO) * sci
    special = ~nonzero
    if special.any():
        body[:, special] = 0
        body[0, finite & (x == 0)] = _ZERO
        for val, txt in ((np.inf, b"inf"), (-np.inf, b"-inf")):
            sel = x == val
            if sel.any():
                body[:len(txt), sel] = np.frombuffer(txt, dtype=np.uint8)[:, None]
    return body.T  # (n, width), C-contiguous; NaN rows stay all-NUL: an empty field


def format_block(columns: Sequence[tuple[str, np.ndarray, object]]) -> bytes:
    """columns: (kind, values, extra) with kind in int/bool/float/labels (extra = labels list)."""
    mats = []
    for kind, values, extra in columns:
        if kind == "int":
            mats.append(format_int(values))
        elif kind == "bool":
            mats.append(format_bool(values))
        elif kind == "float":
            mats.append(format_float(values))
        elif kind == "labels":
            mats.append(format_labels(values, extra))
        else:
            raise ValueError(f"unknown column kind {kind!r}")
    if not mats:
        return b""
    n = mats[0].shape[0]
    if any(m.shape[0] != n for m in mats):
        raise ValueError("columns differ in length")
    if n == 0:
        return b""
    width = sum(m.shape[1] + 1 for m in mats)
    buf = np.empty((n, width), dtype=np.uint8)
    c = 0
    for m in mats:  # each field, then its separator (the last one is the newline)
        buf[:, c:c + m.shape[1]] = m
        c += m.shape[1]
        buf[:, c] = ord(",")
        c += 1
    buf[:, -1] = ord("\n")
    flat = buf.reshape(-1)
    return flat.compress(flat != 0).tobytes()


def format_csv_rows(columns: Sequence[tuple[str, np.ndarray, object]]) -> bytes:
    """CSV lines (no header) for the columns, formatted BLOCK rows at a time."""
    if not columns:
        return b""
    n = len(columns[0][1])
    parts = []
    for a in range(0, n, BLOCK):
        parts.append(format_block([(k, np.asarray(v)[a:a + BLOCK], x) for k, v, x in columns]))
    return b"".join(parts)


def header_line(names: Sequence[str]) -> bytes:
    return (",".join(_quote(n) for n in names) + "\n").encode("utf-8")
