"""Design points as per-parameter value tables plus codes: what the batch model factorises over.

Most model quantities depend on a few parameters only: a GEMV's cycles do not depend on the KV bits,
the weights' storage on neither the clock nor the array shape, a DSP count on the bit-widths and
the array shape alone. ``Factors`` describes N points by, per parameter, its distinct values and
each point's code into them. ``key(names)`` numbers the combinations of ``names`` (mixed radix,
parameters in ``PARAMS`` order, the first most significant) and ``grid(names, lo, hi)`` gives the
parameter values of combinations lo..hi, so a formula runs once per combination (a few thousand)
instead of once per point and its result reaches the points by one gather. Same formula, same inputs, same result per
point: only the number of times it is computed changes.

Two ways in:
* ``ArrayFactors``: any 1-D parameter arrays (``evaluate_batch``'s contract); codes by a counting
  pass for small integer ranges, ``np.unique`` otherwise.
* ``GridFactors``: grid indices of a mixed-radix space (the sweep); codes and keys come from the
  index by integer arithmetic, one divide/modulo per run of adjacent parameters, without
  materialising the parameter arrays.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

# Integer parameters spanning at most this many values get their codes from a counting table
# (O(N)); wider or non-integer ones from np.unique (a sort).
_COUNTING_SPAN = 1 << 16


class Factors:
    """Interface: ``names`` (parameter order), ``n`` (points), ``values(name)`` (sorted distinct
    values, float64), ``key(names)`` and ``column(name)``."""

    names: tuple[str, ...]
    n: int
    slices_grid = False   # True: the points are (usually contiguous) indices of one grid

    def values(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def radix(self, name: str) -> int:
        return len(self.values(name))

    def key(self, names: Sequence[str]) -> np.ndarray | None:
        """Each point's combination number of ``names`` (mixed radix over their values, the first
        most significant), or None when every one of them is fixed. Call only when
        ``combinations(names)`` fits an int64."""
        raise NotImplementedError

    def combinations(self, names: Sequence[str]) -> int:
        """How many combinations of the values of ``names`` there are (exact, a Python int)."""
        k = 1
        for n in self.ordered(names):
            k *= self.radix(n)
        return k

    def column(self, name: str) -> np.ndarray:
        """The parameter's value at every point, (N,) float64."""
        raise NotImplementedError

    def ordered(self, names: Sequence[str]) -> tuple[str, ...]:
        wanted = set(names)
        unknown = wanted - set(self.names)
        if unknown:
            raise KeyError(f"unknown parameter(s) {sorted(unknown)}")
        return tuple(n for n in self.names if n in wanted)

    def grid(self, names: Sequence[str], lo: int = 0, hi: int | None = None) -> dict[str, np.ndarray]:
        """Per name, its value in each combination numbered ``lo`` .. ``hi`` (default: all)."""
        names = self.ordered(names)
        hi = self.combinations(names) - 1 if hi is None else hi
        rest = np.arange(lo, hi + 1, dtype=np.int64)
        out = {}
        for name in reversed(names):       # least significant digit first
            r = self.radix(name)
            out[name] = self.values(name)[rest % r] if r > 1 else np.full(rest.size, self.values(name)[0])
            rest = rest // r
        return {n: out[n] for n in names}


def _codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(sorted distinct values as float64, code per element or None when all are equal)."""
    if x.size == 0:
        return np.zeros(1), None
    if x.dtype == np.bool_:
        x = x.view(np.uint8)
    lo, hi = x.min(), x.max()
    if lo == hi:
        return np.array([float(lo)]), None
    integral = x.dtype.kind in "iu" or (np.isfinite(lo) and np.isfinite(hi) and bool(np.all(x == np.floor(x))))
    if integral and hi - lo < _COUNTING_SPAN:
        off = (x - lo).astype(np.intp, copy=False)
        present = np.zeros(int(hi - lo) + 1, dtype=bool)
        present[off] = True
        rank = np.cumsum(present, dtype=np.intp) - 1
        return np.flatnonzero(present).astype(np.float64) + float(lo), rank[off]
    vals, inv = np.unique(x, return_inverse=True)
    return vals.astype(np.float64), inv.reshape(-1).astype(np.intp)


class ArrayFactors(Factors):
    """Factors of explicit parameter arrays (all the same length). Codes and float64 columns are
    made on first use: points spread over many combinations need only the columns."""

    def __init__(self, params: Mapping[str, np.ndarray], names: Sequence[str]):
        self.names = tuple(names)
        self._raw = {k: np.asarray(params[k]).reshape(-1) for k in self.names}
        self.n = len(next(iter(self._raw.values()))) if self._raw else 0
        self._codes: dict = {}
        self._cols: dict = {}

    def _coded(self, name):
        if name not in self._codes:
            self._codes[name] = _codes(self._raw[name])
        return self._codes[name]

    def values(self, name):
        return self._coded(name)[0]

    def column(self, name):
        if name not in self._cols:
            self._cols[name] = self._raw[name].astype(np.float64)
        return self._cols[name]

    def key(self, names):
        names = self.ordered(names)
        key = None
        for name in names:
            c = self._coded(name)[1]
            if c is None:
                continue
            key = c.copy() if key is None else key * self.radix(name) + c
        return key


class GridFactors(Factors):
    """Factors of points of a mixed-radix grid given by their indices: parameter ``names[j]``
    takes ``values[j][digit_j]``, the last parameter being the least significant digit."""

    slices_grid = True

    def __init__(self, names: Sequence[str], values: Sequence[Sequence[float]], index: np.ndarray):
        self.names = tuple(names)
        self._native = {n: np.asarray(v).reshape(-1) for n, v in zip(self.names, values)}
        self._vals = {n: v.astype(np.float64) for n, v in self._native.items()}
        self.index = np.asarray(index, dtype=np.intp).reshape(-1)
        self.n = self.index.size
        radices = [len(self._vals[n]) for n in self.names]
        # stride of each digit: the product of the radices after it
        self._stride, s = {}, 1
        for n, r in zip(reversed(self.names), reversed(radices)):
            self._stride[n] = s
            s *= r
        self._size = s

    def values(self, name):
        return self._vals[name]

    def _idx(self) -> np.ndarray:
        # int32 arithmetic where the grid allows (twice the SIMD lanes of int64)
        if not hasattr(self, "_idx_cache"):
            small = self._size < (1 << 31)
            self._idx_cache = self.index.astype(np.int32) if small else self.index
            self._runs: dict = {}
        return self._idx_cache

    def _run_digit(self, last: str, run: int) -> np.ndarray:
        """(index // stride(last)) % run: the combined digit of a run of adjacent parameters
        ending at ``last``. The modulo as x - (x // r) * r: numpy divides by a scalar with a
        precomputed multiplier, its % does not."""
        idx = self._idx()
        k = (last, run)
        if k not in self._runs:
            s = self._stride[last]
            d = idx // s if s > 1 else idx
            if s * run < self._size:
                d = d - (d // run) * run
            self._runs[k] = d
        return self._runs[k]

    def digit(self, name) -> np.ndarray | None:
        r = self.radix(name)
        return None if r == 1 else self._run_digit(name, r)

    def column(self, name):
        """The parameter's value at every point, in the dtype its values were given in."""
        d = self.digit(name)
        v = self._native[name]
        return np.full(self.n, v[0], dtype=v.dtype) if d is None else np.take(v, d)

    def key(self, names):
        names = self.ordered(names)
        wanted = set(names)
        # runs of adjacent parameters that are wanted or fixed (a fixed one is digit 0 either way):
        # the run's combined digit is (index // stride of its last) % (product of its radices)
        key, run, last = None, 1, None
        for n in self.names + ("",):
            take = n in wanted or (n and self.radix(n) == 1)
            if take and n:
                run *= self.radix(n)
                last = n
                continue
            if run > 1:
                d = self._run_digit(last, run)
                key = d if key is None else key * run + d
            run, last = 1, None
        return key
