"""The design space: a grid over every ``Quant`` and ``Hardware`` field.

A ``Space`` holds, for each parameter of ``codesign.design`` (same names, same
order as the dataclasses), a sorted tuple of candidate values. Points are
numbered by a mixed-radix index (the first parameter is the most significant
digit, like ``itertools.product``), so any slice ``[start, stop)`` of the grid
is computed from its indices alone: chunks are independent, the product is
never materialised, and a 100M-point space costs no memory until it is
evaluated chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np

from ..design import HW_ALLOWED, QUANT_ALLOWED, QUANT_OPTIONAL, Hardware, Quant, check_value, from_numeric, numeric_value
from ..errors import CodesignError

QUANT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Quant))
HW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Hardware))
# Grid order: quantization first (most significant digit), then hardware.
PARAM_NAMES: tuple[str, ...] = QUANT_FIELDS + HW_FIELDS
ALLOWED: dict[str, Any] = {**QUANT_ALLOWED, **HW_ALLOWED}



def _dtype(name: str):
    return np.bool_ if name == "zero_point" else np.int64


def _table(name: str, vals) -> np.ndarray:
    """A parameter's candidate values as the numeric array the model reads (``sparsity``: its codes,
    design.numeric_value)."""
    return np.asarray([numeric_value(name, v) for v in vals], dtype=_dtype(name))


@dataclass(frozen=True)
class Space:
    """Candidate values per parameter; the grid is their Cartesian product."""

    values: tuple[tuple[str, tuple], ...]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "space") -> "Space":
        """Build and validate a space; every parameter must be present with >= 1 value."""
        unknown = sorted(set(values) - set(PARAM_NAMES))
        if unknown:
            raise CodesignError(f"unknown parameter(s) {unknown}; allowed: {list(PARAM_NAMES)}",
                                field=f"{where}.{unknown[0]}")
        items = []
        for name in PARAM_NAMES:
            if name not in values and name in QUANT_OPTIONAL:   # fields added after space files existed
                values = {**values, name: [getattr(Quant(), name)]}
            if name not in values:
                raise CodesignError("missing", field=f"{where}.{name}")
            vals = values[name]
            if not isinstance(vals, (list, tuple, set, frozenset)):
                vals = [vals]
            if len(vals) == 0:
                raise CodesignError("empty: no values, so the space has no points", field=f"{where}.{name}")
            for v in vals:
                check_value(f"{where}.{name}", v, ALLOWED[name])
            # sorted by the numeric value the model reads (sparsity: dense first)
            items.append((name, tuple(sorted(set(vals), key=lambda v, name=name: numeric_value(name, v)))))
        return cls(tuple(items))

    # -- shape ---------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.values)

    @property
    def radices(self) -> tuple[int, ...]:
        return tuple(len(v) for _, v in self.values)

    @property
    def size(self) -> int:
        n = 1
        for r in self.radices:
            n *= r
        return n

    def as_dict(self) -> dict[str, list]:
        return {n: list(v) for n, v in self.values}

    # -- indexing ------------------------------------------------------------
    def params_at(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter arrays (one per field, the evaluate_batch layout) for grid indices."""
        rest = np.asarray(index, dtype=np.int64)
        if rest.size and (rest.min() < 0 or rest.max() >= self.size):
            raise IndexError(f"grid index out of range [0, {self.size})")
        out: dict[str, np.ndarray] = {}
        # Least significant digit is the last parameter.
        for name, vals in reversed(self.values):
            if len(vals) == 1:  # a fixed parameter: no digit to extract
                out[name] = np.full(rest.shape, numeric_value(name, vals[0]), dtype=_dtype(name))
                continue
            rest, digit = np.divmod(rest, len(vals))
            out[name] = _table(name, vals)[digit]
        return {n: out[n] for n in PARAM_NAMES}

    def factors(self, index: np.ndarray):
        """Grid indices as ``codesign.model.factors.GridFactors``: what ``evaluate_batch`` takes
        without the parameter arrays being built (see there)."""
        from ..model.factors import GridFactors
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.size):
            raise IndexError(f"grid index out of range [0, {self.size})")
        return GridFactors(self.names, [_table(n, v) for n, v in self.values], index)

    def params_range(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return self.params_at(np.arange(start, stop, dtype=np.int64))

    def point(self, index: int) -> tuple[Quant, Hardware]:
        """One grid point as the design dataclasses (plain Python scalars)."""
        p = self.params_at(np.array([index]))
        q = Quant(**{n: from_numeric(n, p[n][0]) for n in QUANT_FIELDS})
        h = Hardware(**{n: from_numeric(n, p[n][0]) for n in HW_FIELDS})
        return q, h
