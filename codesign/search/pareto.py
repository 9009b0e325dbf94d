"""Non-dominated filtering (all objectives minimised) and a streaming front.

Point a dominates b when a <= b in every objective and a < b in at least one.
Points with identical objective vectors do not dominate each other; the front
keeps one representative per distinct vector, the one with the lowest grid
index, so the result does not depend on how the grid was chunked (see
``StreamingFront``). Objectives that are maximised are negated by the caller;
an unknown value (NaN) must be mapped to +inf (ranks last) by the caller.
"""

from __future__ import annotations

import numpy as np


def pareto_indices(costs: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Positions (into ``costs``) of the non-dominated rows, sorted by ``ids``.

    ``ids`` (default: row position) breaks ties between identical rows: the
    smallest id is kept. ``costs`` is (n, d) float, minimised, no NaN.
    """
    costs = np.asarray(costs, dtype=np.float64)
    n = costs.shape[0]
    if costs.ndim != 2:
        raise ValueError("costs must be a 2-D array (points x objectives)")
    if np.isnan(costs).any():
        raise ValueError("costs contain NaN; map unknown values to +inf first")
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Rows in id order (chunks and the streaming front already are), so that among
    # identical rows the first one met has the smallest id.
    order = np.arange(n) if n < 2 or bool(np.all(ids[1:] > ids[:-1])) else np.argsort(ids, kind="stable")
    c = costs[order]
    # Heads in order of a monotone score (sum of per-objective min-max scaled costs):
    # a head with a low score dominates many rows, so the survivors shrink fast. A
    # head removes every survivor >= it in all objectives: those it dominates and its
    # duplicates (which have larger ids: argmin takes the first of equal scores).
    score = _monotone_score(c)
    kept = []
    alive = np.arange(n)
    while alive.size:
        head = alive[int(np.argmin(score[alive]))]
        kept.append(head)
        alive = alive[~np.all(c[alive] >= c[head], axis=1)]
    kept = np.asarray(kept, dtype=np.int64)
    # A head can only be dominated by a row of exactly the same (rounded) score: a
    # dominator with a lower score would have been chosen first and removed it. So
    # check the heads that share a score, within each such group.
    dominated = np.zeros(kept.size, dtype=bool)
    ks = score[kept]
    uniq, inv, counts = np.unique(ks, return_inverse=True, return_counts=True)
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inv.reshape(-1) == g)
        k = c[kept[members]]
        le = np.all(k[:, None, :] <= k[None, :, :], axis=2)
        lt = np.any(k[:, None, :] < k[None, :, :], axis=2)
        dominated[members] = np.any(le & lt, axis=0)
    kept_pos = order[kept[~dominated]]
    return kept_pos[np.argsort(ids[kept_pos], kind="stable")]


def _monotone_score(c: np.ndarray) -> np.ndarray:
    """Sum of per-column scaled costs; non-decreasing in every column (+inf above, -inf below the finite)."""
    score = np.zeros(c.shape[0], dtype=np.float64)
    for j in range(c.shape[1]):
        x = c[:, j]
        fin = np.isfinite(x)
        if not fin.any():
            continue
        lo, hi = float(x[fin].min()), float(x[fin].max())
        span = hi - lo if hi > lo else 1.0
        score += np.where(fin, (x - lo) / span, np.where(x > 0, 2.0, -1.0))
    return score


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


class StreamingFront:
    """The Pareto front of everything ``add``-ed so far, in bounded memory.

    Holds only the current front (ids and cost rows). The final front equals
    the front of the union of all batches, whatever the batch order: a globally
    non-dominated point is never removed, and a dominated one is removed by
    its dominator or by whatever later dominates that (dominance is transitive).
    """

    def __init__(self, n_obj: int):
        self.ids = np.zeros(0, dtype=np.int64)
        self.costs = np.zeros((0, n_obj), dtype=np.float64)

    def add(self, ids: np.ndarray, costs: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        costs = np.asarray(costs, dtype=np.float64).reshape(len(ids), self.costs.shape[1])
        if ids.size == 0:
            return
        # Pre-filter the batch on its own (usually far smaller afterwards).
        keep = pareto_indices(costs, ids)
        all_ids = np.concatenate([self.ids, ids[keep]])
        all_costs = np.concatenate([self.costs, costs[keep]])
        keep = pareto_indices(all_costs, all_ids)
        self.ids, self.costs = all_ids[keep], all_costs[keep]

    def __len__(self) -> int:
        return int(self.ids.size)
