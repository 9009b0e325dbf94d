"""The measured accuracy table: perplexity increase per quantization configuration.

Produced by ``codesign accuracy`` (``codesign/commands/accuracy.py``), consumed by the sweep as
its accuracy objective/constraint. Lookup order for a model: the cache
``${CODESIGN_CACHE:-~/.cache/codesign}/accuracy/<model>.json``, then the measured copy committed
as package data ``codesign/quant/data/accuracy_<model>.json``, else None.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CodesignError

SCHEMA = "codesign.accuracy/1"
DEFAULT_MODEL = "smollm2-135m"
DATA_DIR = Path(__file__).resolve().parent / "data"


def cache_root() -> Path:
    env = os.environ.get("CODESIGN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "codesign"


def cache_path(model: str) -> Path:
    return cache_root() / "accuracy" / f"{model}.json"


def packaged_path(model: str) -> Path:
    return DATA_DIR / f"accuracy_{model}.json"


def _lookup(results: dict, w, a, kv, g) -> np.ndarray:
    """Vectorised results[(w, a, kv, g)] (NaN where absent) for broadcast int64 arrays."""
    out = np.full(w.shape, np.nan)
    if not results:
        return out
    keys = np.array(sorted(results), dtype=np.int64)                      # [n, 4]
    vals = np.array([results[tuple(k)] for k in keys.tolist()], dtype=np.float64)

    # encode each 4-tuple as one integer (every field < 2^16) and look it up by binary search
    def code(arr4):
        return ((arr4[..., 0] * 65536 + arr4[..., 1]) * 65536 + arr4[..., 2]) * 65536 + arr4[..., 3]
    kc = code(keys)
    order = np.argsort(kc)
    kc, vals = kc[order], vals[order]
    q = code(np.stack([w, a, kv, g], axis=-1))
    idx = np.clip(np.searchsorted(kc, q), 0, len(kc) - 1)
    hit = kc[idx] == q
    out[hit] = vals[idx[hit]]
    return out


@dataclass
class AccuracyTable:
    measured_on: str
    baseline_ppl: float
    results: dict[tuple[int, int, int, int], float]   # symmetric weights: (wbits, abits, kvbits, group) -> ppl (nan: diverged)
    meta: dict = field(default_factory=dict)
    results_zp: dict[tuple[int, int, int, int], float] = field(default_factory=dict)   # weights with zero points

    def ppl(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0) -> np.ndarray:
        """Perplexity per configuration (vectorised, broadcasting); NaN where not measured.
        ``sparsity``: design.SPARSITY_CODES index (0 = dense). The table holds dense weights only
        (N:M sparse accuracy has not been measured): every sparse configuration reads NaN, never
        its dense neighbour's figure."""
        w, a, kv, g, z, sp = np.broadcast_arrays(*(np.asarray(v, dtype=np.int64)
                                                   for v in (wbits, abits, kvbits, group, zero_point, sparsity)))
        sym = _lookup(self.results, w, a, kv, g)
        out = sym if not z.any() else np.where(z != 0, _lookup(self.results_zp, w, a, kv, g), sym)
        return np.where(sp != 0, np.nan, out)

    def entries(self):
        """Every measured configuration as ((wbits, abits, kvbits, group), zero_point, ppl): symmetric
        rows first, each kind in key order."""
        for zp, res in ((False, self.results), (True, self.results_zp)):
            for k, p in sorted(res.items()):
                yield k, zp, p

    def loss_pct(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0) -> np.ndarray:
        """Relative perplexity increase in % vs the unquantized baseline; NaN where not measured
        (every N:M sparse configuration: ``ppl``)."""
        return (self.ppl(wbits, abits, kvbits, group, zero_point, sparsity) / self.baseline_ppl - 1.0) * 100.0

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        rows = [{"wbits": w, "abits": a, "kvbits": kv, "group": g, "zero_point": zp,
                 "ppl": None if not math.isfinite(p) else round(p, 6),
                 "loss_pct": None if not math.isfinite(p) else round((p / self.baseline_ppl - 1) * 100, 4)}
                for (w, a, kv, g), zp, p in self.entries()]
        return {**self.meta, "schema": SCHEMA, "measured_on": self.measured_on,
                "baseline_ppl": round(self.baseline_ppl, 6), "results": rows}

    @classmethod
    def from_dict(cls, d: dict, where: str = "accuracy table") -> "AccuracyTable":
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise CodesignError(f"{where}: not a {SCHEMA} table", field="accuracy")
        try:
            results, results_zp = {}, {}
            for r in d["results"]:
                p = r["ppl"]
                zp = r.get("zero_point", False)      # tables written before the zero-point rows: symmetric
                if not isinstance(zp, bool):
                    raise TypeError(f"zero_point must be true or false, got {zp!r}")
                (results_zp if zp else results)[(int(r["wbits"]), int(r["abits"]), int(r["kvbits"]), int(r["group"]))] = \
                    float("nan") if p is None else float(p)
            meta = {k: v for k, v in d.items() if k not in ("schema", "measured_on", "baseline_ppl", "results")}
            return cls(str(d["measured_on"]), float(d["baseline_ppl"]), results, meta, results_zp)
        except (KeyError, TypeError, ValueError) as e:
            raise CodesignError(f"{where}: malformed ({type(e).__name__}: {e})", field="accuracy") from None


def read_table(path: str | Path) -> AccuracyTable:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CodesignError(f"cannot read '{path}' ({e})", field="accuracy") from None
    return AccuracyTable.from_dict(data, where=f"'{path}'")


def write_table(path: str | Path, table: AccuracyTable) -> None:
    from ..fsutil import atomic_write_json

    atomic_write_json(path, table.to_dict())


def merge_tables(tables: list[AccuracyTable]) -> AccuracyTable:
    """One table from several runs over the same sample and numerics (e.g. parallel runs of
    disjoint configuration subsets); provenance keeps every run's record."""
    if not tables:
        raise CodesignError("nothing to merge", field="--merge")
    first = tables[0]
    results: dict = {}
    results_zp: dict = {}
    runs: list = []
    notes: list = []
    for t in tables:
        for k in ("sample", "numerics"):
            if t.meta.get(k) != first.meta.get(k):
                raise CodesignError(f"cannot merge: tables differ in '{k}'", field="--merge")
        if t.measured_on != first.measured_on or abs(t.baseline_ppl / first.baseline_ppl - 1) > 1e-6:
            raise CodesignError("cannot merge: different model or baseline perplexity", field="--merge")
        results.update(t.results)
        results_zp.update(t.results_zp)
        prov = t.meta.get("provenance", {})
        for run in (prov.get("runs", [prov]) if prov else []):
            if run not in runs:          # tables resumed from one cache share their earlier runs
                runs.append(run)
        if prov.get("note") and prov["note"] not in notes:
            notes.append(prov["note"])
    meta = dict(first.meta)
    meta["provenance"] = {**{k: v for k, v in (runs[0] if runs else {}).items() if k != "note"}, "runs": runs}
    if notes:
        meta["provenance"]["note"] = "; ".join(notes)
    return AccuracyTable(first.measured_on, first.baseline_ppl, results, meta, results_zp)


def load_accuracy_table(model: str | None = None) -> AccuracyTable | None:
    """The cached table for ``model`` (default: the one real model measured here, SmolLM2-135M),
    else the committed copy, else None."""
    model = model or DEFAULT_MODEL
    for path in (cache_path(model), packaged_path(model)):
        if path.is_file():
            return read_table(path)
    return None
