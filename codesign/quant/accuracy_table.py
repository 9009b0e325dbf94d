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

SCHEMA = "codesign.accuracy/2"
READ_SCHEMAS = ("codesign.accuracy/1", SCHEMA)   # /1: tables without intervals (read as such)
DEFAULT_MODEL = "smollm2-135m"
DEFAULT_METHOD = "rtn"      # round-to-nearest onto the golden weight grid (after SmoothQuant)
DATA_DIR = Path(__file__).resolve().parent / "data"
# The paired bootstrap of every committed table (recorded in its "bootstrap" block, which wins).
BOOTSTRAP = {"seed": 15, "resamples": 10000, "level": 0.95, "unit": "window", "method": "percentile",
             "paired": True}

# (wbits, abits, kvbits, group, zero_point, method)
RowKey = tuple


def cache_root() -> Path:
    env = os.environ.get("CODESIGN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "codesign"


def cache_path(model: str) -> Path:
    return cache_root() / "accuracy" / f"{model}.json"


def packaged_path(model: str) -> Path:
    return DATA_DIR / f"accuracy_{model}.json"


# ---------------------------------------------------------------------- bootstrap intervals
def _resample_index(n: int, seed: int, resamples: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def paired_loss_interval(ref_nll, nll, tokens_per_window: int, seed: int = BOOTSTRAP["seed"],
                         resamples: int = BOOTSTRAP["resamples"], level: float = BOOTSTRAP["level"]
                         ) -> tuple[float, float]:
    """Percentile bootstrap interval of the perplexity increase in % (ppl / ppl_ref - 1) * 100.

    ``ref_nll`` and ``nll`` are the summed NLLs of the same windows under the reference and the
    configuration; windows are resampled with replacement, the same indices for both (paired), so
    the interval is of the increase, not of either perplexity. Deterministic for a seed.
    (NaN, NaN) when any NLL is not finite."""
    ref, q = np.asarray(ref_nll, dtype=np.float64), np.asarray(nll, dtype=np.float64)
    if ref.shape != q.shape or ref.ndim != 1 or ref.size == 0:
        raise ValueError(f"paired NLLs must be two equal 1-d arrays, got {ref.shape} and {q.shape}")
    if not (np.isfinite(ref).all() and np.isfinite(q).all()):
        return float("nan"), float("nan")
    d = (q - ref)[_resample_index(ref.size, seed, resamples)].mean(axis=1) / tokens_per_window
    with np.errstate(over="ignore"):
        loss = np.expm1(d) * 100.0
    lo, hi = np.quantile(loss, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def ppl_interval(nll, tokens_per_window: int, seed: int = BOOTSTRAP["seed"],
                 resamples: int = BOOTSTRAP["resamples"], level: float = BOOTSTRAP["level"]) -> tuple[float, float]:
    """Percentile bootstrap interval of one perplexity (resampling windows)."""
    x = np.asarray(nll, dtype=np.float64)
    if not np.isfinite(x).all():
        return float("nan"), float("nan")
    m = x[_resample_index(x.size, seed, resamples)].mean(axis=1) / tokens_per_window
    lo, hi = np.quantile(np.exp(m), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _nll_array(v) -> np.ndarray:
    return np.array([np.nan if x is None else float(x) for x in v], dtype=np.float64)


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
    """Perplexity per (wbits, abits, kvbits, group, zero_point, method) vs one reference.

    ``rows`` maps a RowKey to perplexity (NaN: diverged). ``window_nll`` holds, per row, the summed
    NLL of every sample window, and ``baseline_nll`` the reference's: from them the paired bootstrap
    interval of each row's increase is computed (``bootstrap`` block of ``meta``, else BOOTSTRAP).
    Tables without window NLLs (schema /1) have no intervals (NaN)."""
    measured_on: str
    baseline_ppl: float
    rows: dict = field(default_factory=dict)               # RowKey -> ppl
    meta: dict = field(default_factory=dict)
    baseline_nll: list | None = None
    window_nll: dict = field(default_factory=dict)         # RowKey -> [per-window NLL sums]
    seconds: dict = field(default_factory=dict)            # RowKey -> measurement seconds

    def __post_init__(self):
        # keys (w, a, kv, g) are symmetric round-to-nearest rows, (w, a, kv, g, zp) round-to-nearest
        norm = lambda k: tuple(k) + (False, DEFAULT_METHOD)[len(k) - 4:] if len(k) < 6 else tuple(k)  # noqa: E731
        self.rows = {norm(k): v for k, v in self.rows.items()}
        self.window_nll = {norm(k): v for k, v in self.window_nll.items()}
        self.seconds = {norm(k): v for k, v in self.seconds.items()}

    @classmethod
    def from_results(cls, measured_on: str, baseline_ppl: float, results: dict, meta: dict | None = None,
                     results_zp: dict | None = None) -> "AccuracyTable":
        """From {(w, a, kv, g): ppl} of round-to-nearest weights, symmetric and with zero points."""
        rows = {k + (False, DEFAULT_METHOD): p for k, p in results.items()}
        rows.update({k + (True, DEFAULT_METHOD): p for k, p in (results_zp or {}).items()})
        return cls(measured_on, baseline_ppl, rows, dict(meta or {}))

    # views of the round-to-nearest rows, keyed (w, a, kv, g)
    def _view(self, zp: bool, method: str = DEFAULT_METHOD) -> dict:
        return {k[:4]: p for k, p in self.rows.items() if k[4] == zp and k[5] == method}

    @property
    def results(self) -> dict:
        return self._view(False)

    @property
    def results_zp(self) -> dict:
        return self._view(True)

    @property
    def methods(self) -> list[str]:
        return sorted({k[5] for k in self.rows})

    @property
    def bootstrap(self) -> dict:
        return {**BOOTSTRAP, **self.meta.get("bootstrap", {})}

    @property
    def tokens_per_window(self) -> int | None:
        s = self.meta.get("sample", {})
        return int(s["window_tokens"]) - 1 if "window_tokens" in s else None

    def interval(self, k: RowKey) -> tuple[float, float]:
        """The row's bootstrap interval of the increase, % (NaN, NaN) when it has none."""
        cache = self.__dict__.setdefault("_ci", {})
        if k not in cache:
            nll = self.window_nll.get(k)
            if nll is None or self.baseline_nll is None or self.tokens_per_window is None:
                cache[k] = (float("nan"), float("nan"))
            else:
                b = self.bootstrap
                cache[k] = paired_loss_interval(_nll_array(self.baseline_nll), _nll_array(nll), self.tokens_per_window,
                                                b["seed"], b["resamples"], b["level"])
        return cache[k]

    def baseline_interval(self) -> tuple[float, float]:
        if self.baseline_nll is None or self.tokens_per_window is None:
            return float("nan"), float("nan")
        b = self.bootstrap
        return ppl_interval(_nll_array(self.baseline_nll), self.tokens_per_window, b["seed"], b["resamples"], b["level"])

    def _by_kind(self, values: dict, w, a, kv, g, z, method) -> np.ndarray:
        out = np.full(w.shape, np.nan)
        kinds = {(k[4], k[5]) for k in values}
        for zp, m in kinds:
            sel = (z != 0) == zp
            if not isinstance(method, str):
                sel &= np.asarray(method) == m
            elif method != m:
                continue
            if sel.any():
                view = {k[:4]: v for k, v in values.items() if k[4] == zp and k[5] == m}
                out = np.where(sel, _lookup(view, w, a, kv, g), out)
        return out

    def _args(self, wbits, abits, kvbits, group, zero_point, sparsity, method):
        arrs = np.broadcast_arrays(*(np.asarray(v, dtype=np.int64)
                                     for v in (wbits, abits, kvbits, group, zero_point, sparsity)))
        if not isinstance(method, str):
            method = np.broadcast_to(np.asarray(method, dtype=object), arrs[0].shape)
        return (*arrs, method)

    def ppl(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0, method=DEFAULT_METHOD) -> np.ndarray:
        """Perplexity per configuration (vectorised, broadcasting); NaN where not measured.
        ``sparsity``: design.SPARSITY_CODES index (0 = dense). The table holds dense weights only
        (N:M sparse accuracy has not been measured): every sparse configuration reads NaN, never
        its dense neighbour's figure. ``method``: a string or an array of them ("rtn" by default)."""
        w, a, kv, g, z, sp, m = self._args(wbits, abits, kvbits, group, zero_point, sparsity, method)
        return np.where(sp != 0, np.nan, self._by_kind(self.rows, w, a, kv, g, z, m))

    def entries(self):
        """Every measured configuration as ((wbits, abits, kvbits, group), zero_point, ppl) for the
        round-to-nearest rows: symmetric rows first, each kind in key order."""
        for zp in (False, True):
            for k, p in sorted(self._view(zp).items()):
                yield k, zp, p

    def loss_pct(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0, method=DEFAULT_METHOD) -> np.ndarray:
        """Relative perplexity increase in % vs the reference; NaN where not measured
        (every N:M sparse configuration: ``ppl``)."""
        return (self.ppl(wbits, abits, kvbits, group, zero_point, sparsity, method) / self.baseline_ppl - 1.0) * 100.0

    def loss_interval(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0, method=DEFAULT_METHOD
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bootstrap bounds of the increase in %, vectorised like ``loss_pct``; NaN where
        the row is not measured or has no interval."""
        w, a, kv, g, z, sp, m = self._args(wbits, abits, kvbits, group, zero_point, sparsity, method)
        ci = {k: self.interval(k) for k in self.rows}
        lo = self._by_kind({k: v[0] for k, v in ci.items()}, w, a, kv, g, z, m)
        hi = self._by_kind({k: v[1] for k, v in ci.items()}, w, a, kv, g, z, m)
        return np.where(sp != 0, np.nan, lo), np.where(sp != 0, np.nan, hi)

    # ------------------------------------------------------------------ (de)serialisation
    def row_dicts(self) -> list[dict]:
        out = []
        for k in sorted(self.rows, key=lambda k: (k[5], k[4], k[:4])):
            w, a, kv, g, zp, m = k
            p = self.rows[k]
            fin = math.isfinite(p)
            lo, hi = self.interval(k)
            has_ci = math.isfinite(lo) and math.isfinite(hi)
            r = {"method": m, "wbits": w, "abits": a, "kvbits": kv, "group": g, "zero_point": zp,
                 "ppl": round(p, 6) if fin else None,
                 "loss_pct": round((p / self.baseline_ppl - 1) * 100, 4) if fin else None,
                 "ci_low_pct": round(lo, 4) if has_ci else None, "ci_high_pct": round(hi, 4) if has_ci else None,
                 "tie_with_reference": bool(lo <= 0 <= hi) if has_ci else None}
            if k in self.seconds:
                r["seconds"] = self.seconds[k]
            if k in self.window_nll:
                r["window_nll"] = self.window_nll[k]
            out.append(r)
        return out

    def to_dict(self) -> dict:
        d = {**self.meta, "schema": SCHEMA, "measured_on": self.measured_on, "baseline_ppl": round(self.baseline_ppl, 6)}
        if self.baseline_nll is not None:
            lo, hi = self.baseline_interval()
            d["bootstrap"] = self.bootstrap
            d["baseline"] = {"ppl": round(self.baseline_ppl, 6), "ci_low": round(lo, 4), "ci_high": round(hi, 4),
                             "window_nll": self.baseline_nll}
        d["results"] = self.row_dicts()
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "accuracy table") -> "AccuracyTable":
        if not isinstance(d, dict) or d.get("schema") not in READ_SCHEMAS:
            raise CodesignError(f"{where}: not a {SCHEMA} table", field="accuracy")
        try:
            rows, nlls, secs = {}, {}, {}
            for r in d["results"]:
                p = r["ppl"]
                zp = r.get("zero_point", False)      # tables written before the zero-point rows: symmetric
                if not isinstance(zp, bool):
                    raise TypeError(f"zero_point must be true or false, got {zp!r}")
                m = r.get("method", DEFAULT_METHOD)  # rows before the method axis: round-to-nearest
                if not isinstance(m, str) or not m:
                    raise TypeError(f"method must be a name, got {m!r}")
                k = (int(r["wbits"]), int(r["abits"]), int(r["kvbits"]), int(r["group"]), zp, m)
                rows[k] = float("nan") if p is None else float(p)
                if r.get("window_nll") is not None:
                    nlls[k] = list(r["window_nll"])
                if r.get("seconds") is not None:
                    secs[k] = r["seconds"]
            base = d.get("baseline") or {}
            bnll = base.get("window_nll")
            if bnll is not None and any(len(v) != len(bnll) for v in nlls.values()):
                raise ValueError("every row's window_nll must have the reference's length")
            meta = {k: v for k, v in d.items() if k not in ("schema", "measured_on", "baseline_ppl", "results", "baseline")}
            return cls(str(d["measured_on"]), float(d["baseline_ppl"]), rows, meta,
                       list(bnll) if bnll is not None else None, nlls, secs)
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
    rows: dict = {}
    nlls: dict = {}
    secs: dict = {}
    runs: list = []
    notes: list = []
    for t in tables:
        for k in ("sample", "numerics", "reference"):
            if t.meta.get(k) != first.meta.get(k):
                raise CodesignError(f"cannot merge: tables differ in '{k}'", field="--merge")
        if t.measured_on != first.measured_on or abs(t.baseline_ppl / first.baseline_ppl - 1) > 1e-6:
            raise CodesignError("cannot merge: different model or baseline perplexity", field="--merge")
        if (t.baseline_nll is None) != (first.baseline_nll is None) or (
                t.baseline_nll is not None and not np.allclose(_nll_array(t.baseline_nll), _nll_array(first.baseline_nll),
                                                               rtol=1e-9, atol=1e-6, equal_nan=True)):
            raise CodesignError("cannot merge: different reference window NLLs", field="--merge")
        rows.update(t.rows)
        nlls.update(t.window_nll)
        secs.update(t.seconds)
        prov = t.meta.get("provenance", {})
        for run in (prov.get("runs", [prov]) if prov else []):
            if run not in runs:          # tables resumed from one cache share their earlier runs
                runs.append(run)
        if prov.get("note") and prov["note"] not in notes:
            notes.append(prov["note"])
    meta = dict(first.meta)
    for t in tables[1:]:      # blocks only some runs write (GPTQ / AWQ calibration, mixed-precision profiles)
        for k in ("method_calibration", "mixed_precision", "superseded"):
            if k in t.meta and k not in meta:
                meta[k] = t.meta[k]
            elif k in t.meta and t.meta[k] != meta[k]:
                raise CodesignError(f"cannot merge: tables differ in '{k}'", field="--merge")
    meta["provenance"] = {**{k: v for k, v in (runs[0] if runs else {}).items() if k != "note"}, "runs": runs}
    if notes:
        meta["provenance"]["note"] = "; ".join(notes)
    return AccuracyTable(first.measured_on, first.baseline_ppl, rows, meta, first.baseline_nll, nlls, secs)


def table_path(model: str | None = None) -> Path | None:
    """The file ``load_accuracy_table`` reads: the cached table for ``model`` (default: the one real
    model measured here, SmolLM2-135M), else the committed copy, else None."""
    model = model or DEFAULT_MODEL
    for path in (cache_path(model), packaged_path(model)):
        if path.is_file():
            return path
    return None


def load_accuracy_table(model: str | None = None) -> AccuracyTable | None:
    """The table at ``table_path(model)``, or None."""
    path = table_path(model)
    return None if path is None else read_table(path)
