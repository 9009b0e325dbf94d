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


# Above this many rows, a sample's front first removes most dominated rows (see _prefilter).
PREFILTER_MIN = 4096
SAMPLE = 1024
# Up to this many rows, every pair is compared at once (n^2 booleans per objective).
DENSE_MAX = 768


def pareto_indices(costs: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Positions (into ``costs``) of the non-dominated rows, sorted by ``ids``.

    ``ids`` (default: row position) breaks ties between identical rows: the
    smallest id is kept. ``costs`` is (n, d) float, minimised, no NaN.
    """
    costs = np.asarray(costs, dtype=np.float64)
    if costs.ndim != 2:
        raise ValueError("costs must be a 2-D array (points x objectives)")
    n = costs.shape[0]
    if np.isnan(costs).any():
        raise ValueError("costs contain NaN; map unknown values to +inf first")
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Rows in id order (chunks and the streaming front already are), so that among
    # identical rows the first one met has the smallest id: row position = id rank.
    in_order = n < 2 or bool(np.all(ids[1:] > ids[:-1]))
    order = np.arange(n) if in_order else np.argsort(ids, kind="stable")
    c = costs if in_order else costs[order]
    if n <= DENSE_MAX:
        kept_pos = order[~_dominated_dense([c[:, j] for j in range(c.shape[1])])]
        return kept_pos[np.argsort(ids[kept_pos], kind="stable")]
    rows = _prefilter(c) if n >= PREFILTER_MIN else np.arange(n)
    cr = c[rows]
    score = _monotone_score(cr)
    srt = np.argsort(score, kind="stable")
    kept = np.sort(rows[_eliminate([np.ascontiguousarray(cr[srt, j]) for j in range(c.shape[1])], srt)])
    # A head can only be dominated by a row of exactly the same (rounded) score: a
    # dominator with a lower score would have been met first and removed it. So
    # check the heads that share a score, within each such group.
    dominated = np.zeros(kept.size, dtype=bool)
    ks = score[np.searchsorted(rows, kept)]
    uniq, inv, counts = np.unique(ks, return_inverse=True, return_counts=True)
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inv.reshape(-1) == g)
        k = c[kept[members]]
        le = np.all(k[:, None, :] <= k[None, :, :], axis=2)
        lt = np.any(k[:, None, :] < k[None, :, :], axis=2)
        dominated[members] = np.any(le & lt, axis=0)
    kept_pos = order[kept[~dominated]]
    return kept_pos[np.argsort(ids[kept_pos], kind="stable")]


def _dominated_dense(cols: list) -> np.ndarray:
    """Rows (in id order) dominated by another row or equal to a row with a smaller id: all pairs
    at once, objective by objective (few rows: cheaper than one Python step per front member).
    ``cols``: one array per objective."""
    n = len(cols[0])
    le = np.ones((n, n), dtype=bool)       # [j, i]: row j <= row i in every objective
    lt = np.zeros((n, n), dtype=bool)      # [j, i]: row j < row i in some objective
    for x in cols:
        le &= x[:, None] <= x[None, :]
        lt |= x[:, None] < x[None, :]
    lt |= np.tri(n, k=-1, dtype=bool).T    # j < i: an equal row with a smaller id also removes i
    return np.any(le & lt, axis=0)


def _removed_by(a_costs: np.ndarray, a_ids: np.ndarray, ids: np.ndarray, costs: np.ndarray,
                same_id_removes: bool) -> np.ndarray:
    """Rows of (ids, costs) that a row of (a_ids, a_costs) dominates, or equals with a smaller id
    (or the same id, with ``same_id_removes``)."""
    if len(ids) == 0 or len(a_ids) == 0:
        return np.zeros(len(ids), dtype=bool)
    le = np.ones((len(a_ids), len(ids)), dtype=bool)     # [j, i]: a_j <= row i everywhere
    # [j, i]: a_j < row i somewhere, or an equal row with a smaller id wins
    lt = (a_ids[:, None] <= ids[None, :]) if same_id_removes else (a_ids[:, None] < ids[None, :])
    for j in range(costs.shape[1]):
        x, y = a_costs[:, j], costs[:, j]
        le &= x[:, None] <= y[None, :]
        lt |= x[:, None] < y[None, :]
    return np.any(le & lt, axis=0)


def _ge_all(cols: list, head, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """out = every column >= the head's value (column by column: contiguous, no (n, d) temporaries)."""
    np.greater_equal(cols[0], head[0], out=out)
    for j in range(1, len(cols)):
        np.greater_equal(cols[j], head[j], out=tmp)
        out &= tmp
    return out


def _eliminate(cols: list, pos: np.ndarray) -> np.ndarray:
    """Heads of a sequential elimination over rows sorted by (monotone score, id rank): the first
    row still alive is kept and removes every later row >= it in all columns (those it dominates,
    and its duplicates, which come later). ``cols``: the columns in that order; ``pos``: each
    row's label. Returns the kept labels. The arrays are compacted once enough rows have died."""
    n = len(pos)
    alive = np.ones(n, dtype=bool)
    m, t = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
    kept = []
    i, steps = 0, 0
    while True:
        size = len(pos)
        if i >= size:
            break
        i += int(alive[i:size].argmax())       # the first row still alive (argmax: first True)
        if not alive[i]:
            break
        kept.append(pos[i])
        mm = _ge_all(cols, [x[i] for x in cols], m[:size], t[:size])
        mm[:i + 1] = False
        np.greater(alive[:size], mm, out=alive[:size])   # alive and not removed
        i += 1
        steps += 1
        if steps % 8 == 0:   # compact once enough rows have died (checked now and then: a full scan)
            left = int(np.count_nonzero(alive[i:size]))
            if left < 0.6 * (size - i):
                keep = np.flatnonzero(alive[i:size]) + i
                cols, pos = [x[keep] for x in cols], pos[keep]
                alive[:len(pos)] = True
                i = 0
    return np.asarray(kept, dtype=np.int64)


def _prefilter(c: np.ndarray) -> np.ndarray:
    """Rows (ascending; ``c`` in id order) left after removing those that points of an evenly
    spaced sample's front dominate, or equal with a smaller id. Sound (a removed row has a real
    dominator) and cheap: the sample's front members are applied greedily, the one removing most
    of the sample first, and each pass shrinks the rows the next one scans."""
    n, d = c.shape
    samp = np.arange(0, n, max(1, n // SAMPLE))
    sc = c[samp]
    srt = np.argsort(_monotone_score(sc), kind="stable")
    front = _eliminate([np.ascontiguousarray(sc[srt, j]) for j in range(d)], srt)  # sample positions
    scols = [np.ascontiguousarray(sc[:, j]) for j in range(d)]
    m, t = np.empty(len(samp), dtype=bool), np.empty(len(samp), dtype=bool)
    beats = np.array([_ge_all(scols, sc[h], m, t).copy() for h in front])   # front member x sample row
    beats[np.arange(len(front)), front] = False
    heads, alive_s, free = [], np.ones(len(samp), dtype=bool), np.ones(len(front), dtype=bool)
    while True:
        gain = np.where(free, (beats & alive_s).sum(axis=1), -1)
        b = int(np.argmax(gain))
        if gain[b] <= 0:
            break
        heads.append(samp[front[b]])
        free[b] = False
        alive_s &= ~beats[b]
    rows = np.arange(n)
    cols = [np.ascontiguousarray(c[:, j]) for j in range(d)]
    m, t = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
    dead = np.zeros(n, dtype=bool)
    for h in heads:
        size = len(rows)
        gone = _ge_all(cols, c[h], m[:size], t[:size])
        # the head itself and rows equal to it with a smaller id stay
        upto = int(np.searchsorted(rows, h, side="right"))
        low = np.flatnonzero(gone[:upto])
        if low.size:
            eq = np.ones(low.size, dtype=bool)
            for j in range(d):
                eq &= cols[j][low] == c[h, j]
            gone[low[eq]] = False
        dead[:size] |= gone
        if np.count_nonzero(dead[:size]) > size // 4:   # compact once a quarter has died
            keep = np.flatnonzero(~dead[:size])
            rows, cols = rows[keep], [x[keep] for x in cols]
            dead[:len(rows)] = False
    if dead[:len(rows)].any():
        rows = rows[~dead[:len(rows)]]
    return rows


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
        # The batch's own front first (usually far smaller), then the two fronts against each
        # other: a row of one is dropped if a row of the other removes it; within each, nothing
        # does (a row that removes a front row is never itself removed by the same front).
        # (A point already held, added again, stays once: equal rows with equal ids go.)
        keep = pareto_indices(costs, ids)
        ids, costs = ids[keep], costs[keep]
        keep_batch = ~_removed_by(self.costs, self.ids, ids, costs, same_id_removes=True)
        keep_front = ~_removed_by(costs, ids, self.ids, self.costs, same_id_removes=False)
        all_ids = np.concatenate([self.ids[keep_front], ids[keep_batch]])
        order = np.argsort(all_ids, kind="stable")
        self.ids = all_ids[order]
        self.costs = np.concatenate([self.costs[keep_front], costs[keep_batch]])[order]

    def __len__(self) -> int:
        return int(self.ids.size)
