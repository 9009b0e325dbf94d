import numpy as np
import pytest

from codesign.search.pareto import StreamingFront, dominates, pareto_indices


def test_hand_built_case():
    # columns: minimise both
    costs = np.array([
        [1.0, 5.0],   # 0 front (best first objective)
        [2.0, 3.0],   # 1 front
        [3.0, 3.0],   # 2 dominated by 1
        [4.0, 1.0],   # 3 front (best second objective)
        [2.0, 4.0],   # 4 dominated by 1
        [5.0, 5.0],   # 5 dominated by everything on the front
        [2.0, 3.0],   # 6 duplicate of 1 -> the lower id (1) represents it
        [1.0, 5.0],   # 7 duplicate of 0
    ])
    assert pareto_indices(costs).tolist() == [0, 1, 3]


def test_ties_keep_lowest_id_not_first_position():
    costs = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
    ids = np.array([50, 7, 9])
    assert pareto_indices(costs, ids).tolist() == [1, 2]  # sorted by id: 7, 9


def test_inf_ranks_last_and_nan_rejected():
    costs = np.array([[1.0, np.inf], [1.0, 2.0], [0.5, np.inf]])
    assert pareto_indices(costs).tolist() == [1, 2]
    with pytest.raises(ValueError):
        pareto_indices(np.array([[np.nan, 1.0]]))


def _brute_force_check(costs, kept):
    kept = set(kept.tolist())
    for i in kept:  # no kept point is dominated by any point
        assert not any(dominates(costs[j], costs[i]) for j in range(len(costs)))
    for i in set(range(len(costs))) - kept:  # every dropped point is dominated or duplicates a kept lower id
        dom = any(dominates(costs[j], costs[i]) for j in kept)
        dup = any(np.array_equal(costs[j], costs[i]) and j < i for j in kept)
        assert dom or dup, f"dropped point {i} is undominated"


@pytest.mark.parametrize("dense_max", [0, 10_000])   # the head elimination, then all pairs at once
@pytest.mark.parametrize("seed", range(6))
def test_random_property(seed, dense_max, monkeypatch):
    import codesign.search.pareto as P
    monkeypatch.setattr(P, "DENSE_MAX", dense_max)
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(50, 300)), int(rng.integers(2, 6))
    # small integer grid -> many ties and partial ties, the hard cases
    costs = rng.integers(0, 6, size=(n, d)).astype(float)
    if seed % 2:
        costs = rng.normal(size=(n, d))  # continuous: large fronts in d >= 4
    kept = pareto_indices(costs)
    _brute_force_check(costs, kept)


@pytest.mark.parametrize("seed", range(4))
def test_streaming_equals_global_for_any_chunking(seed):
    rng = np.random.default_rng(100 + seed)
    n, d = 2000, 4
    costs = rng.integers(0, 8, size=(n, d)).astype(float)
    expected = pareto_indices(costs)
    for chunk in (1, 7, 333, n):
        front = StreamingFront(d)
        order = np.arange(n)
        if seed % 2:  # batches in any order give the same front
            order = rng.permutation(n)
        for s in range(0, n, chunk):
            sel = order[s:s + chunk]
            front.add(sel, costs[sel])
        assert sorted(front.ids.tolist()) == expected.tolist()


def test_dominated_head_on_an_exact_score_tie_is_dropped(monkeypatch):
    import codesign.search.pareto as P
    monkeypatch.setattr(P, "DENSE_MAX", 0)   # the head elimination (few rows go all-pairs)
    # row 0 is dominated by row 1, but their scaled-sum scores round to the same value
    # (1e-20 vanishes next to 0.5) and row 0 comes first: it is picked as a head, then dropped.
    costs = np.array([[1.0, 0.5], [0.0, 0.5], [1e20, 0.0], [0.0, 1.0]])
    assert pareto_indices(costs).tolist() == [1, 2]


def _dominated_mask(costs, block=512):
    """Brute force, vectorised in blocks of rows: dominated by some row, or a duplicate of a row
    with a lower position."""
    n = len(costs)
    out = np.zeros(n, dtype=bool)
    for a in range(0, n, block):
        c = costs[a:a + block]                                          # the rows judged
        le = np.all(costs[:, None, :] <= c[None, :, :], axis=2)        # [j, i]: j <= i everywhere
        lt = np.any(costs[:, None, :] < c[None, :, :], axis=2)
        earlier = np.arange(n)[:, None] < np.arange(a, a + len(c))[None, :]
        out[a:a + len(c)] = np.any(le & (lt | earlier), axis=0)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_prefiltered_path_matches_brute_force(seed, monkeypatch):
    """Large inputs go through the sample-front prefilter first; force it on small random data
    (ties, infinities, unsorted ids) and compare with the brute-force answer."""
    import codesign.search.pareto as P
    rng = np.random.default_rng(300 + seed)
    monkeypatch.setattr(P, "PREFILTER_MIN", 16)
    monkeypatch.setattr(P, "DENSE_MAX", 8)
    monkeypatch.setattr(P, "SAMPLE", int(rng.integers(2, 64)))
    n, d = int(rng.integers(16, 700)), int(rng.integers(1, 6))
    costs = rng.integers(0, 5, size=(n, d)).astype(float) if seed % 2 else rng.normal(size=(n, d)).round(1)
    costs[rng.random((n, d)) < 0.05] = np.inf
    ids = rng.permutation(3 * n)[:n]
    order = np.argsort(ids)
    want = np.sort(order[~_dominated_mask(costs[order])])    # positions, by id
    got = pareto_indices(costs, ids)
    assert sorted(got.tolist()) == sorted(want.tolist())
    assert np.all(np.diff(ids[got]) > 0)


def test_large_input_uses_the_prefilter_and_stays_exact():
    import codesign.search.pareto as P
    rng = np.random.default_rng(5)
    n = P.PREFILTER_MIN + 10
    costs = np.column_stack([rng.integers(0, 40, n), rng.normal(size=n).round(2)])
    want = np.flatnonzero(~_dominated_mask(costs))
    assert pareto_indices(np.asfortranarray(costs)).tolist() == want.tolist()


def test_streaming_front_adding_the_same_points_again_changes_nothing():
    rng = np.random.default_rng(9)
    costs = rng.integers(0, 6, size=(500, 3)).astype(float)
    front = StreamingFront(3)
    for _ in range(3):
        for s in range(0, 500, 64):
            front.add(np.arange(s, min(s + 64, 500)), costs[s:s + 64])
        assert front.ids.tolist() == pareto_indices(costs).tolist()
        assert np.array_equal(front.costs, costs[front.ids])
