"""Formula tables: each formula runs once per combination of the parameters it reads (factors.py),
and every point gathers its value from that small table.

A sweep chunk of 65k points has ~8k GEMV combinations and ~150 for the other opcodes; the tables
hold those, ``Lookup`` reads them per point. ``phase_tables`` builds the per-phase sums (cycles,
bytes, MACs) the roll-up needs, one table per formula class.
"""

from __future__ import annotations

import numpy as np

from .cycles import effective_channels, formula_params, program_totals
from .factors import Factors

TABLE_BLOCK = 32768   # combinations per block of the cycle formulas ((instructions x block) arrays)
# A formula's table spans the combinations of its parameters between the smallest and largest
# present; past this many (or half the points) it is evaluated per point instead (the same
# formula, element by element).
TABLE_MAX = 1 << 18

# The cycle formulas in two classes by the parameters they read: the GEMVs (bit-widths, array
# shape, ...) and everything else (KV bits, SFU lanes, ports, clock). Each class is timed once per
# combination of its parameters present in the batch (factors.py), then gathered per point.
CYCLE_CLASSES = (("GEMV",), ("LOAD", "STORE", "NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD"))


IDENTITY = "identity"   # a key meaning: the table has one entry per point, in point order


class Lookup:
    """A table over the combinations of some parameters and each point's key into it."""

    __slots__ = ("key", "table")

    def __init__(self, key, table):
        self.key, self.table = key, table

    def at(self, sl: slice, n: int) -> np.ndarray:
        """Values of the points ``sl`` (``n`` of them), a new array."""
        if self.key is None:
            return np.full(n, self.table[0], dtype=self.table.dtype)
        if self.key is IDENTITY:
            return self.table[sl].copy()
        return np.take(self.table, self.key[sl])


class Tables:
    """Formulas evaluated on the distinct combinations of their parameters, read per point."""

    def __init__(self, fac: Factors, dtype):
        self.fac, self.dtype = fac, dtype
        self._keys: dict = {}
        self._columns: dict = {}

    def key(self, names):
        """(key per point, None (all fixed) or IDENTITY; grid: the parameter values of the
        combinations from the smallest to the largest key present; that smallest key). A sweep
        chunk covers a slice of the grid, so of the most significant parameters only some values:
        the formulas run on that span, not on every combination. Points spread over more
        combinations than that (TABLE_MAX, or half the points), e.g. random points: one entry per
        point (the same formulas, element by element)."""
        names = self.fac.ordered(names)
        if names not in self._keys:
            limit = max(1024, min(TABLE_MAX, self.fac.n // 2))   # a table pays when it is smaller
            combos = self.fac.combinations(names)
            # a grid slice's keys span few combinations even when the grid has many: compute them
            narrow = combos <= limit or (self.fac.slices_grid and combos < (1 << 62))
            key = self.fac.key(names) if narrow else IDENTITY
            lo = hi = 0
            if key is not IDENTITY and key is not None and key.size:
                lo, hi = int(key.min()), int(key.max())
            if key is IDENTITY or hi - lo >= limit:
                self._keys[names] = (IDENTITY, {k: self.column_values(k) for k in names}, 0)
            else:
                grid = self.fac.grid(names, lo, hi)
                self._keys[names] = (key, {k: v.astype(self.dtype) for k, v in grid.items()}, lo)
        return self._keys[names]

    def grid(self, names):
        return self.key(names)[1]

    def column_values(self, name) -> np.ndarray:
        """A parameter's value at every point, in the model's dtype (converted once)."""
        if name not in self._columns:
            self._columns[name] = self.fac.column(name).astype(self.dtype)
        return self._columns[name]

    def lookup(self, names, table) -> Lookup:
        """Per-point access to ``table`` (computed on ``grid(names)``)."""
        key, _, lo = self.key(names)
        table = np.asarray(table).reshape(-1)
        if key is IDENTITY:
            table = np.broadcast_to(table, (self.fac.n,))
        if lo:   # keys count from the first combination of the whole grid
            table = np.concatenate([np.zeros(lo, dtype=table.dtype), table])
        return Lookup(key, table)

    def column(self, name) -> Lookup:
        """Per-point access to a parameter's values (in the model's dtype)."""
        return self.lookup((name,), self.grid((name,))[name])


# The per-phase sums the roll-up reads, each a sum of program_totals keys. They are added up on
# the class tables, so a point gathers one value per sum and class.
BYTE_KINDS = ("weight_bytes", "kv_read", "kv_write", "io_bytes")
PHASE_SUMS = {
    **{k: (k,) for k in BYTE_KINDS},
    "cycles": ("cycles",), "compute": ("compute",), "macs": ("macs",),
    "bytes": BYTE_KINDS,                                             # every off-chip byte of the phase
    "stream_bytes": ("weight_bytes", "kv_read", "kv_write"),         # weights + KV cache: the roofline's
}
DECODE_SUMS = ("cycles", "compute", "macs", "bytes", "stream_bytes")
PREFILL_SUMS = ("cycles", "compute", "bytes")


def phase_tables(tables: Tables, prog, device, sums) -> dict:
    """The ``sums`` (PHASE_SUMS names) of a program's cycles and bytes with repeat counts, as
    lookups: per sum, one per formula class that contributes (a point's value is their sum)."""
    dt = tables.dtype
    out: dict = {name: [] for name in sums}
    for ops in CYCLE_CLASSES:
        names = formula_params(ops)
        grid = effective_channels(tables.grid(names), device)
        tot = _totals(prog, grid, device, ops, dt)
        for name in sums:
            parts = [tot[k] for k in PHASE_SUMS[name] if k in tot]   # the keys this class produces
            if parts:
                out[name].append(tables.lookup(names, sum(parts[1:], parts[0])))
    return out


def _totals(prog, grid, device, ops, dt) -> dict:
    """program_totals of ``prog`` on a parameter grid, in cache-sized blocks of combinations."""
    col = {k: v.reshape(-1, 1).astype(dt) for k, v in prog.cols.items()}
    count = prog.count.astype(dt)
    size = len(next(iter(grid.values())))
    blocks = []   # large grids (points spread over many combinations) in cache-sized blocks
    for a in range(0, size, TABLE_BLOCK):
        pc = {k: v[a:a + TABLE_BLOCK].reshape(1, -1) for k, v in grid.items()}
        blocks.append(program_totals(prog.op, col, count, pc, device, ops=ops))
    return blocks[0] if len(blocks) == 1 else {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}


MIXED_PARAMS = ("mixed", "hi_wbits")


def mixed_tables(tables: Tables, units: dict, device, sums, n_layers: int) -> dict:
    """Per-layer mixed precision (quant.mixed_precision): for each sum, the lookup of what raising
    a point's units adds to its phase: per unit class, (layers raised) x (that unit's GEMVs at
    hi_wbits - at wbits). Empty when no point is mixed."""
    if not np.any(tables.column_values("mixed")):
        return {}
    from ..quant.mixed_precision import raised_counts
    names = tables.fac.ordered(formula_params(("GEMV",)) + MIXED_PARAMS)
    grid = effective_channels(tables.grid(names), device)
    dt = tables.dtype
    raised = grid["mixed"] > 0
    hi = dict(grid, wbits=np.where(raised, np.maximum(grid["hi_wbits"], grid["wbits"]), grid["wbits"]),
              word_wbits=grid["wbits"])
    delta: dict = {}
    for c, n in zip(("attn", "ffn"), raised_counts(n_layers, grid["mixed"])):
        prog = units[c]
        if prog.op.size == 0:
            continue
        t_lo, t_hi = _totals(prog, grid, device, ("GEMV",), dt), _totals(prog, hi, device, ("GEMV",), dt)
        for k in t_lo:
            delta[k] = delta.get(k, 0) + n.astype(dt) * (t_hi[k] - t_lo[k])
    out = {}
    for name in sums:
        parts = [delta[k] for k in PHASE_SUMS[name] if k in delta]
        if parts:
            out[name] = tables.lookup(names, sum(parts[1:], parts[0]))
    return out


def sum_at(lookups: list, sl: slice, n: int, dt) -> np.ndarray:
    if not lookups:
        return np.zeros(n, dtype=dt)
    v = lookups[0].at(sl, n)
    for lk in lookups[1:]:
        v += lk.at(sl, n)
    return v
