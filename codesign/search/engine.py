"""The chunked sweep: grid slices -> analytical model -> constraints -> streaming front.

Each chunk of the grid is evaluated by ``codesign.model.evaluate_batch`` (the
one model ``evaluate`` also uses), accuracy is looked up in the measured table,
the user's constraints are applied, and the points that pass update a
streaming Pareto front. Memory is bounded by the chunk size plus the front:
nothing grows with the number of points except the optional points CSV,
which is streamed to disk chunk by chunk. After every chunk the state can be
checkpointed (see ``checkpoint.py``), so an interrupted sweep resumes where it
stopped and ends with the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..design import CODED_FIELDS, Workload
from . import csvfast
from .accuracy import AccuracySource
from .constraints import CONSTRAINT_FIELDS, Constraints, constraint_masks
from .pareto import StreamingFront, pareto_indices
from .space import PARAM_NAMES, Space


@dataclass(frozen=True)
class Objective:
    column: str
    sense: str   # "max" or "min"
    label: str


OBJECTIVES: tuple[Objective, ...] = (
    Objective("decode_tokens_per_s", "max", "decode tokens/s"),
    Objective("energy_per_token_j", "min", "J/token"),
    Objective("usd_per_mtoken", "min", "USD/Mtoken"),
    Objective("utilization", "min", "utilization"),
    Objective("accuracy_loss_pct", "min", "accuracy loss %"),
)

# Model outputs per point. points.csv (every point: formatting dominates the sweep's
# cost) carries the objectives, constraints and main resources; pareto.csv (small)
# carries every output of the model.
POINT_FLOATS = (
    "decode_tokens_per_s", "prefill_latency_s", "energy_per_token_j", "energy_per_token_amortised_j",
    "power_w", "usd_per_mtoken", "utilization", "roofline_fraction", "accuracy_loss_pct",
    "dsp", "lut", "bram36", "uram",
)
FLOAT_COLUMNS = POINT_FLOATS + (
    "roofline_tokens_per_s", "compute_utilization", "bandwidth_utilization", "min_memory_energy_per_token_j",
    "ff",
)
KEY_COLUMNS = ("index",) + PARAM_NAMES + ("feasible", "meets_constraints", "violations")
POINT_COLUMNS = KEY_COLUMNS + POINT_FLOATS
PARETO_COLUMNS = KEY_COLUMNS + FLOAT_COLUMNS

# Streaming 2-D histogram of (log10 tokens/s, log10 J/token): the Pareto plot's
# background without keeping the points. Values outside the range land in the
# edge bins.
# the accuracy table's axes (codesign.quant.accuracy_table)
ACCURACY_PARAMS = ("wbits", "abits", "kvbits", "group", "zero_point", "sparsity", "method", "mixed", "hi_wbits")

HIST_BINS = 200
HIST_RANGE = ((-2.0, 5.0), (-4.0, 3.0))


def active_objectives(accuracy_known: bool) -> tuple[Objective, ...]:
    return tuple(o for o in OBJECTIVES if accuracy_known or o.column != "accuracy_loss_pct")


def objective_costs(cols: Mapping[str, np.ndarray], objectives) -> np.ndarray:
    """(n, k) minimisation costs: maximised objectives negated, unknown (NaN) -> +inf."""
    # column-major: the Pareto filter scans one objective at a time
    out = np.empty((len(cols[objectives[0].column]), len(objectives)), dtype=np.float64, order="F")
    for j, o in enumerate(objectives):
        x = np.asarray(cols[o.column], dtype=np.float64)
        out[:, j] = -x if o.sense == "max" else x
    out[np.isnan(out)] = np.inf
    return out


@dataclass
class SweepState:
    """Everything a sweep accumulates; small, and saved after chunks for resume."""

    n_obj: int
    n_violations: int
    next_start: int = 0
    n_feasible: int = 0
    n_ok: int = 0                     # feasible and meeting every applied constraint
    n_accuracy_unmeasured: int = 0    # feasible points whose (W, A, KV, group, zero point, sparsity) is not in the table
    violation_counts: np.ndarray = None  # type: ignore[assignment]
    constraint_fail: np.ndarray = None   # type: ignore[assignment]  # per CONSTRAINT_FIELDS, among feasible
    hist_feasible: np.ndarray = None     # type: ignore[assignment]
    hist_ok: np.ndarray = None           # type: ignore[assignment]
    front: StreamingFront = field(default=None)  # type: ignore[assignment]
    # best J/token per weight bit-width (aligned with the space's wbits values): cost, grid index
    n_wbits: int = 0
    wbits_best_j: np.ndarray = None      # type: ignore[assignment]
    wbits_best_idx: np.ndarray = None    # type: ignore[assignment]

    def __post_init__(self):
        if self.violation_counts is None:
            self.violation_counts = np.zeros(self.n_violations, dtype=np.int64)
        if self.constraint_fail is None:
            self.constraint_fail = np.zeros(len(CONSTRAINT_FIELDS), dtype=np.int64)
        if self.hist_feasible is None:
            self.hist_feasible = np.zeros((HIST_BINS, HIST_BINS), dtype=np.int64)
        if self.hist_ok is None:
            self.hist_ok = np.zeros((HIST_BINS, HIST_BINS), dtype=np.int64)
        if self.front is None:
            self.front = StreamingFront(self.n_obj)
        if self.wbits_best_j is None:
            self.wbits_best_j = np.full(self.n_wbits, np.inf)
        if self.wbits_best_idx is None:
            self.wbits_best_idx = np.full(self.n_wbits, -1, dtype=np.int64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "scalars": np.array([self.next_start, self.n_feasible, self.n_ok, self.n_accuracy_unmeasured],
                                dtype=np.int64),
            "violation_counts": self.violation_counts, "constraint_fail": self.constraint_fail,
            "hist_feasible": self.hist_feasible, "hist_ok": self.hist_ok,
            "front_ids": self.front.ids, "front_costs": self.front.costs,
            "wbits_best_j": self.wbits_best_j, "wbits_best_idx": self.wbits_best_idx,
        }

    @classmethod
    def from_arrays(cls, a: Mapping[str, np.ndarray]) -> "SweepState":
        s = cls(n_obj=a["front_costs"].shape[1], n_violations=len(a["violation_counts"]),
                n_wbits=len(a["wbits_best_j"]))
        s.next_start, s.n_feasible, s.n_ok, s.n_accuracy_unmeasured = (int(v) for v in a["scalars"])
        s.violation_counts = a["violation_counts"].copy()
        s.constraint_fail = a["constraint_fail"].copy()
        s.hist_feasible, s.hist_ok = a["hist_feasible"].copy(), a["hist_ok"].copy()
        s.front.ids, s.front.costs = a["front_ids"].copy(), a["front_costs"].copy()
        s.wbits_best_j, s.wbits_best_idx = a["wbits_best_j"].copy(), a["wbits_best_idx"].copy()
        return s


@dataclass
class ChunkResult:
    start: int
    stop: int
    n_feasible: int
    n_ok: int
    n_accuracy_unmeasured: int
    violation_counts: np.ndarray
    constraint_fail: np.ndarray
    hist_feasible: tuple | None      # (occupied cells, their counts): a few hundred of 40,000
    hist_ok: tuple | None
    front_ids: np.ndarray
    front_costs: np.ndarray
    rows: bytes
    wbits_best_j: np.ndarray | None = None
    wbits_best_idx: np.ndarray | None = None

    def fold_into(self, state: "SweepState") -> None:
        if self.start != state.next_start:
            raise RuntimeError(f"chunk {self.start} folded out of order (expected {state.next_start})")
        state.n_feasible += self.n_feasible
        state.n_ok += self.n_ok
        state.n_accuracy_unmeasured += self.n_accuracy_unmeasured
        state.violation_counts += self.violation_counts
        state.constraint_fail += self.constraint_fail
        for hist, add in ((state.hist_feasible, self.hist_feasible), (state.hist_ok, self.hist_ok)):
            if add is not None:
                hist.reshape(-1)[add[0]] += add[1]     # cells are distinct
        state.front.add(self.front_ids, self.front_costs)
        if self.wbits_best_j is not None:
            # strictly better, or equal at a lower grid index (chunks arrive in grid order)
            better = (self.wbits_best_j < state.wbits_best_j) | (
                (self.wbits_best_j == state.wbits_best_j) & (self.wbits_best_idx >= 0)
                & ((state.wbits_best_idx < 0) | (self.wbits_best_idx < state.wbits_best_idx)))
            state.wbits_best_j = np.where(better, self.wbits_best_j, state.wbits_best_j)
            state.wbits_best_idx = np.where(better, self.wbits_best_idx, state.wbits_best_idx)
        state.next_start = self.stop


def _hist_cells(tps: np.ndarray, jpt: np.ndarray) -> np.ndarray:
    """Flat histogram cell of each point (log10 tokens/s x log10 J/token), clipped to the edges."""
    (x0, x1), (y0, y1) = HIST_RANGE
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log10(np.where(tps > 0, tps, 10.0 ** x0))
        ly = np.log10(np.where(jpt > 0, jpt, 10.0 ** y0))
    ix = np.clip(((lx - x0) / (x1 - x0) * HIST_BINS).astype(np.int64), 0, HIST_BINS - 1)
    iy = np.clip(((ly - y0) / (y1 - y0) * HIST_BINS).astype(np.int64), 0, HIST_BINS - 1)
    return ix * HIST_BINS + iy


def _bit_counts(bits: np.ndarray, n_bits: int) -> np.ndarray:
    """Points with each bit of the violations mask set (one counting pass over the distinct masks)."""
    out = np.zeros(n_bits, dtype=np.int64)
    if bits.size == 0:
        return out
    if bits.min() >= 0 and bits.max() < (1 << 20):
        counts = np.bincount(bits)
        masks = np.flatnonzero(counts)
        counts = counts[masks]
    else:
        masks, counts = np.unique(bits, return_counts=True)
    for b in range(n_bits):
        out[b] = int(counts[((masks >> b) & 1) == 1].sum())
    return out


def _hist_count(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(occupied cells, counts): what a chunk sends back instead of the whole histogram."""
    counts = np.bincount(cells, minlength=HIST_BINS * HIST_BINS)
    occupied = np.flatnonzero(counts)
    return occupied, counts[occupied]


class Sweeper:
    """Evaluates grid slices of one (model, device, workload, space) and folds them into a state."""

    def __init__(self, model: str, device: str, workload: Workload, space: Space,
                 constraints: Constraints, accuracy: AccuracySource,
                 evaluate_batch: Callable | None = None, violations: tuple[str, ...] | None = None,
                 parallel=None):
        from ..devices import get_device
        from ..workload import load_model_config

        if evaluate_batch is None or violations is None:
            from .. import model as _model
            evaluate_batch = evaluate_batch or _model.evaluate_batch
            violations = violations or tuple(_model.VIOLATIONS)
        self.model, self.device_name, self.workload = model, device, workload
        self.cfg = load_model_config(model)
        self.device = get_device(device)
        self.space, self.constraints, self.accuracy = space, constraints, accuracy
        self.objectives = active_objectives(accuracy.known)
        self._evaluate_batch = evaluate_batch
        self.violations = tuple(violations)
        # a multi-card plan (design.Parallel, model/parallel.py): every point of this sweep spans its cards
        from ..design import Parallel
        from ..model.parallel import resolve
        self.parallel = parallel or Parallel()
        self.plan = resolve(self.parallel, self.device)

    # -- evaluation ----------------------------------------------------------
    def evaluate_indices(self, index: np.ndarray, with_params: bool = True) -> dict[str, np.ndarray]:
        """Model outputs + accuracy + constraint verdict (+ the parameters) for grid indices.

        The model gets the indices as grid factors (``Space.factors``): it evaluates each formula
        once per combination of the parameters it reads, and so is accuracy looked up here.
        """
        index = np.asarray(index, dtype=np.int64)
        fac = self.space.factors(index)
        res = (self._evaluate_batch(self.cfg, self.device, self.workload, fac) if self.plan is None
               else self._evaluate_batch(self.cfg, self.device, self.workload, fac, plan=self.plan))
        cols: dict[str, np.ndarray] = {"index": index}
        if with_params:
            cols.update({n: fac.column(n) for n in PARAM_NAMES})
        cols.update({k: np.asarray(v) for k, v in res.items()})
        cols["feasible"] = np.asarray(res["feasible"], dtype=bool)
        cols["violations"] = np.asarray(res["violations"], dtype=np.int64)
        key, grid = fac.key(ACCURACY_PARAMS), fac.grid(ACCURACY_PARAMS)
        loss = self.accuracy.loss_pct(grid)            # one lookup per (W, A, KV, group, zero point, sparsity) combination
        cols["accuracy_loss_pct"] = np.full(index.size, loss[0]) if key is None else np.take(loss, key)
        # the low end of each row's bootstrap interval: the accuracy bound's tie rule (constraints.py)
        lo = self.accuracy.loss_ci_low(grid)
        cols["accuracy_loss_ci_low"] = np.full(index.size, lo[0]) if key is None else np.take(lo, key)
        masks = constraint_masks(self.constraints, cols, self.accuracy.known)
        ok = cols["feasible"].copy()
        for m in masks.values():
            ok &= m
        cols["meets_constraints"] = ok
        cols["_constraint_masks"] = masks  # type: ignore[assignment]
        return cols

    @property
    def wbits_values(self) -> tuple[int, ...]:
        return tuple(self.space.as_dict()["wbits"])

    def new_state(self) -> SweepState:
        return SweepState(n_obj=len(self.objectives), n_violations=len(self.violations),
                          n_wbits=len(self.wbits_values))

    def chunk_result(self, start: int, stop: int, points_mode: str, points_format: str = "csv") -> "ChunkResult":
        """Evaluate grid slice [start, stop): counts, histograms, front candidates, point rows
        (CSV text, or with ``points_format`` "parquet" an Arrow IPC stream of typed columns).

        Pure (no shared state), so chunks can run in worker processes; folding
        the results in chunk order gives the same state however they ran.
        """
        index = np.arange(start, stop, dtype=np.int64)
        cols = self.evaluate_indices(index, with_params=points_mode == "all")
        feas, ok = cols["feasible"], cols["meets_constraints"]
        viol = _bit_counts(cols["violations"], len(self.violations))
        cfail = np.zeros(len(CONSTRAINT_FIELDS), dtype=np.int64)
        for j, name in enumerate(CONSTRAINT_FIELDS):
            m = cols["_constraint_masks"].get(name)
            if m is not None:
                cfail[j] = int(np.count_nonzero(feas & ~m))
        # histograms of the feasible points (those within constraints are a subset of them)
        fsel = np.flatnonzero(feas)
        cells = _hist_cells(np.asarray(cols["decode_tokens_per_s"][fsel], dtype=np.float64),
                            np.asarray(cols["energy_per_token_j"][fsel], dtype=np.float64))
        ok_f = ok[fsel]
        hist_f = _hist_count(cells) if fsel.size else None
        hist_o = _hist_count(cells[ok_f]) if ok_f.any() else None
        sel = np.flatnonzero(ok)
        ids = index[sel]
        costs = objective_costs({o.column: cols[o.column][sel] for o in self.objectives}, self.objectives)
        keep = pareto_indices(costs, ids)  # only the chunk's own front travels
        wb_j = np.full(len(self.wbits_values), np.inf)
        wb_i = np.full(len(self.wbits_values), -1, dtype=np.int64)
        if sel.size:
            jpt = np.asarray(cols["energy_per_token_j"][sel], dtype=np.float64)
            wbits = self.space.factors(ids).column("wbits")
            for k, w in enumerate(self.wbits_values):
                cand = np.flatnonzero(wbits == w)
                if cand.size:
                    j = cand[int(np.argmin(jpt[cand]))]   # first minimum: the lowest grid index
                    wb_j[k], wb_i[k] = jpt[j], ids[j]
        rows_of = self.csv_rows
        if points_format == "parquet":
            from .arrow_rows import ipc_rows
            rows_of = lambda c: ipc_rows(self, c)   # noqa: E731
        if points_mode == "all":
            rows = rows_of(cols)
        elif points_mode == "feasible":
            sub = {k: (v[sel] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
            fac = self.space.factors(ids)
            sub.update({n: fac.column(n) for n in PARAM_NAMES})
            rows = rows_of(sub)
        else:
            rows = b""
        return ChunkResult(start, stop, int(fsel.size), int(sel.size),
                           int(np.count_nonzero(np.isnan(cols["accuracy_loss_pct"][fsel]))), viol, cfail,
                           hist_f, hist_o, ids[keep], costs[keep], rows, wb_j, wb_i)

    # -- output rows ---------------------------------------------------------
    def violation_labels(self, masks: np.ndarray) -> tuple[np.ndarray, list[str]]:
        uniq, inv = np.unique(masks, return_inverse=True)
        labels = [";".join(r for b, r in enumerate(self.violations) if (int(u) >> b) & 1) for u in uniq]
        return inv.reshape(-1), labels

    def csv_rows(self, cols: Mapping[str, Any], floats: tuple[str, ...] = POINT_FLOATS) -> bytes:
        spec = [("int", cols["index"], None)]
        for name in PARAM_NAMES:
            if name in CODED_FIELDS:    # the numeric code, written as its name ("dense", "2:4", "gptq")
                spec.append(("labels", np.asarray(cols[name]).astype(np.int64), list(CODED_FIELDS[name])))
            else:
                spec.append(("bool" if name == "zero_point" else "int", cols[name], None))
        spec.append(("bool", cols["feasible"], None))
        spec.append(("bool", cols["meets_constraints"], None))
        codes, labels = self.violation_labels(cols["violations"])
        spec.append(("labels", codes, labels))
        for name in floats:
            spec.append(("float", np.asarray(cols[name], dtype=np.float64), None))
        return csvfast.format_csv_rows(spec)

    @staticmethod
    def csv_header(columns: tuple[str, ...] = POINT_COLUMNS) -> bytes:
        return csvfast.header_line(columns)

    # -- results -------------------------------------------------------------
    def best_per_objective(self, state: SweepState) -> dict[str, int]:
        """Grid index of the best front point per objective (ties: the other objectives, then index)."""
        ids, costs = state.front.ids, state.front.costs
        best: dict[str, int] = {}
        if ids.size == 0:
            return best
        k = costs.shape[1]
        for j, o in enumerate(self.objectives):
            keys = [ids] + [costs[:, i] for i in reversed(range(k)) if i != j] + [costs[:, j]]
            best[o.column] = int(ids[np.lexsort(keys)[0]])
        return best

    def ranked_front(self, state: SweepState) -> np.ndarray:
        """Front grid indices by J/token (then tokens/s, then index)."""
        ids, costs = state.front.ids, state.front.costs
        cols = {o.column: j for j, o in enumerate(self.objectives)}
        order = np.lexsort((ids, costs[:, cols["decode_tokens_per_s"]], costs[:, cols["energy_per_token_j"]]))
        return ids[order]

