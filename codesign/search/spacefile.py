"""The user's space file (YAML): narrows or widens the device's default space.

```yaml
space:                      # any Quant/Hardware field; others keep the device default
  wbits: [3, 4, 8]          # a list of values
  group: 128                # one value
  rows: {min: 8, max: 128, factor: 2}   # geometric: 8, 16, 32, 64, 128
  freq_mhz: {min: 150, max: 300, step: 50}  # arithmetic: 150, 200, 250, 300
constraints:
  max_accuracy_loss_pct: 2.0
  min_tokens_per_s: 5
  max_power_w: 75
  resource_cap: 0.8
```
Every error names the offending key (``space.rows.step``) and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CodesignError
from .constraints import CONSTRAINT_FIELDS, Constraints
from .space import ALLOWED, PARAM_NAMES

TOP_KEYS = ("space", "constraints")
RANGE_KEYS = ("min", "max", "step", "factor", "values")
MAX_VALUES_PER_PARAM = 4096  # a range larger than this is almost certainly a typo


@dataclass(frozen=True)
class SpaceFile:
    overrides: dict[str, list] = field(default_factory=dict)
    constraints: Constraints = field(default_factory=Constraints)


def load_space_file(path: str | Path, where: str = "--space") -> SpaceFile:
    from ..fsutil import load_user_file

    data = load_user_file(path, where, "yaml")
    return parse_space_dict(data if data is not None else {})


def parse_space_dict(data: Any) -> SpaceFile:
    if not isinstance(data, dict):
        raise CodesignError(f"must be a mapping with keys {list(TOP_KEYS)}", field="space file")
    unknown = sorted(set(map(str, data)) - set(TOP_KEYS))
    if unknown:
        raise CodesignError(f"unknown key; allowed: {list(TOP_KEYS)}", field=unknown[0])
    space = data.get("space") or {}
    if not isinstance(space, dict):
        raise CodesignError("must be a mapping of parameter -> values", field="space")
    overrides = {}
    for key, spec in space.items():
        key = str(key)
        if key not in PARAM_NAMES:
            raise CodesignError(f"unknown parameter; allowed: {list(PARAM_NAMES)}", field=f"space.{key}")
        overrides[key] = expand_values(key, spec, f"space.{key}")
    cons = data.get("constraints")
    if isinstance(cons, dict):
        odd = [k for k in cons if not isinstance(k, str)]
        if odd:
            raise CodesignError(f"unknown constraint {odd[0]!r}; allowed: {sorted(CONSTRAINT_FIELDS)}",
                                field="constraints")
    return SpaceFile(overrides, Constraints.from_mapping(cons, "constraints"))


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise CodesignError(f"got {v!r}; must be an integer", field=where)
    return v


def expand_values(name: str, spec: Any, where: str) -> list:
    """A list, a scalar, or a {min, max, step|factor} / {values} mapping -> sorted values."""
    from ..design import check_value

    if isinstance(spec, dict):
        bad = sorted(set(map(str, spec)) - set(RANGE_KEYS))
        if bad:
            raise CodesignError(f"unknown key; allowed: {list(RANGE_KEYS)}", field=f"{where}.{bad[0]}")
        if "values" in spec:
            if len(spec) > 1:
                raise CodesignError("'values' cannot be combined with min/max/step/factor", field=where)
            return expand_values(name, spec["values"], f"{where}.values")
        for k in ("min", "max"):
            if k not in spec:
                raise CodesignError("missing (a range needs min and max)", field=f"{where}.{k}")
        lo, hi = _int(spec["min"], f"{where}.min"), _int(spec["max"], f"{where}.max")
        if lo > hi:
            raise CodesignError(f"min {lo} > max {hi}: the range is empty", field=where)
        if "step" in spec and "factor" in spec:
            raise CodesignError("give either step or factor, not both", field=where)
        vals: list[int] = []
        if "factor" in spec:
            f = _int(spec["factor"], f"{where}.factor")
            if f < 2:
                raise CodesignError(f"got {f}; must be an integer >= 2", field=f"{where}.factor")
            if lo < 1:
                raise CodesignError(f"got {lo}; a geometric range needs min >= 1", field=f"{where}.min")
            v = lo
            while v <= hi:
                vals.append(v)
                v *= f
        else:
            s = _int(spec.get("step", 1), f"{where}.step")
            if s < 1:
                raise CodesignError(f"got {s}; must be an integer >= 1", field=f"{where}.step")
            if (hi - lo) // s + 1 > MAX_VALUES_PER_PARAM:
                raise CodesignError(f"range gives {(hi - lo) // s + 1} values; at most "
                                    f"{MAX_VALUES_PER_PARAM} per parameter", field=where)
            vals = list(range(lo, hi + 1, s))
        for v in vals:
            check_value(where, v, ALLOWED[name])
        return vals
    items = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if not items:
        raise CodesignError("empty list: the space would have no points", field=where)
    if len(items) > MAX_VALUES_PER_PARAM:
        raise CodesignError(f"{len(items)} values; at most {MAX_VALUES_PER_PARAM} per parameter", field=where)
    for i, v in enumerate(items):
        check_value(f"{where}[{i}]", v, ALLOWED[name])
    return sorted(set(items))
