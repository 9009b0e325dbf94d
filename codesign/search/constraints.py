"""Constraints a design must meet to count in the Pareto front and the bests.

Feasibility (resources, buffer sizes, supported bit-widths) is the analytical
model's verdict; these are the user's extra limits. Accuracy is applied only
when an accuracy table exists: without one the constraint is reported as not
applied, never evaluated against an invented number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import CodesignError

# name -> (result column it bounds, "max"/"min" bound, description)
CONSTRAINT_FIELDS: dict[str, tuple[str, str, str]] = {
    "max_accuracy_loss_pct": ("accuracy_loss_pct", "max", "perplexity increase vs unquantized, %"),
    "min_tokens_per_s": ("decode_tokens_per_s", "min", "decode tokens/s"),
    "max_power_w": ("power_w", "max", "board power, W"),
    "resource_cap": ("utilization", "max", "max fraction of any device resource, in (0, 1]"),
}


@dataclass(frozen=True)
class Constraints:
    max_accuracy_loss_pct: float | None = None
    min_tokens_per_s: float | None = None
    max_power_w: float | None = None
    resource_cap: float | None = None
    # where the accuracy bound came from when it is not the user's number (e.g. the anchor rule)
    accuracy_bound_note: str | None = None

    @classmethod
    def from_mapping(cls, d: Any, where: str = "constraints") -> "Constraints":
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise CodesignError("must be a mapping of constraint -> number", field=where)
        unknown = sorted(set(d) - set(CONSTRAINT_FIELDS))
        if unknown:
            raise CodesignError(f"unknown constraint(s) {unknown}; allowed: {sorted(CONSTRAINT_FIELDS)}",
                                field=f"{where}.{unknown[0]}")
        vals = {}
        for k, v in d.items():
            vals[k] = check_constraint(k, v, f"{where}.{k}")
        return cls(**vals)

    def merged(self, **overrides) -> "Constraints":
        """Command-line values override the space file's; None leaves a value as is."""
        d = asdict(self)
        for k, v in overrides.items():
            if v is not None:
                d[k] = check_constraint(k, v, f"--{k.replace('_', '-')}")
        return Constraints(**d)

    def as_dict(self) -> dict:
        return asdict(self)


def check_constraint(name: str, value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CodesignError(f"got {value!r}; must be a finite number", field=where)
    value = float(value)
    if name == "resource_cap" and not 0.0 < value <= 1.0:
        raise CodesignError(f"got {value!r}; must be a fraction in (0, 1]", field=where)
    if name != "resource_cap" and value < 0:
        raise CodesignError(f"got {value!r}; must be >= 0", field=where)
    return value


def constraint_masks(c: Constraints, cols: Mapping[str, np.ndarray], accuracy_known: bool
                     ) -> dict[str, np.ndarray]:
    """Per applied constraint, a bool array: True where the point meets it.

    The accuracy constraint is skipped when no accuracy table exists; a point
    whose accuracy was not measured (NaN) does not meet it. Tie rule (``accuracy_meets_bound``):
    a point whose bootstrap interval of the loss reaches down to the bound meets it.
    """
    masks: dict[str, np.ndarray] = {}
    for name, (col, kind, _) in CONSTRAINT_FIELDS.items():
        bound = getattr(c, name)
        if bound is None:
            continue
        if name == "max_accuracy_loss_pct" and not accuracy_known:
            continue
        x = np.asarray(cols[col], dtype=np.float64)
        if name == "max_accuracy_loss_pct":
            masks[name] = accuracy_meets_bound(x, cols.get("accuracy_loss_ci_low"), bound)
            continue
        with np.errstate(invalid="ignore"):
            masks[name] = (x <= bound) if kind == "max" else (x >= bound)
    return masks


def accuracy_meets_bound(loss: np.ndarray, ci_low: np.ndarray | None, bound: float) -> np.ndarray:
    """The accuracy bound with ties: True where a point's loss is not shown to exceed ``bound``.

    A table row carries a paired bootstrap interval [low, high] of its loss (docs/ACCURACY.md). A
    difference inside the interval is a tie: a point whose interval contains the bound
    (low <= bound <= high, the measurement cannot tell it from the bound) meets the bound, like
    one whose whole interval is below it; a point whose whole interval is above the bound
    (low > bound) fails. A row without an interval (a table of schema /1) is judged by its loss
    alone (loss <= bound). An unmeasured point (NaN loss) fails.
    """
    loss = np.asarray(loss, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if ci_low is None:
            return loss <= bound
        lo = np.asarray(ci_low, dtype=np.float64)
        judged = np.where(np.isfinite(lo), np.minimum(lo, loss), loss)
        return np.isfinite(loss) & (judged <= bound)


def accuracy_tie_at_bound(loss: np.ndarray, ci_low: np.ndarray | None, bound: float) -> np.ndarray:
    """True where a point meets the bound only by the tie rule (loss > bound >= interval low)."""
    if ci_low is None:
        return np.zeros(np.shape(loss), dtype=bool)
    loss, lo = np.asarray(loss, dtype=np.float64), np.asarray(ci_low, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(loss) & (loss > bound) & (lo <= bound)
