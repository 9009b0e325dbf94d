"""Factorised evaluation: grid keys and codes are exact, and a point's figures do not depend on
which other points share the call (the sweep's chunks) or on how the points were handed in."""

import numpy as np
import pytest

from codesign.design import Workload
from codesign.devices import get_device
from codesign.model import evaluate_batch
from codesign.model.factors import ArrayFactors, GridFactors
from codesign.search.defaults import default_space
from codesign.search.space import PARAM_NAMES
from codesign.workload import load_model_config

U280 = get_device("u280")
LLAMA = load_model_config("llama2-7b")


def _small_space():
    # every kind of axis: fixed, two-valued, several values; ~2.6k points, mixed feasibility
    return default_space(U280, {"wbits": [3, 4, 8], "abits": [8, 16], "kvbits": [8], "group": [64, 128],
                                "rows": [8, 64, 256], "cols": [32, 256], "sfu_lanes": [16, 32],
                                "weight_channels": [8, 31], "kv_channels": [2], "port_bits": [256, 512],
                                "freq_mhz": [150, 225, 300]})


def _decode(index, radices):
    """Reference mixed-radix digits (first parameter most significant)."""
    digits, rest = [], np.asarray(index, dtype=np.int64)
    for r in reversed(radices):
        rest, d = np.divmod(rest, r)
        digits.append(d)
    return digits[::-1]


@pytest.mark.parametrize("seed", range(4))
def test_grid_keys_and_columns_match_the_mixed_radix_digits(seed):
    rng = np.random.default_rng(seed)
    names = tuple(f"p{i}" for i in range(7))
    radices = [int(r) for r in rng.integers(1, 5, size=len(names))]
    values = [sorted(rng.choice(100, size=r, replace=False)) for r in radices]
    size = int(np.prod(radices))
    index = rng.integers(0, size, size=300) if seed % 2 else np.arange(size // 3, size)
    fac = GridFactors(names, values, index)
    digits = _decode(index, radices)
    for j, n in enumerate(names):
        assert np.array_equal(fac.column(n), np.asarray(values[j])[digits[j]])
    for _ in range(10):
        subset = tuple(n for n in names if rng.random() < 0.5) or names[:1]
        key, grid = fac.key(subset), fac.grid(subset)
        want = np.zeros(len(index), dtype=np.int64)
        for j, n in enumerate(names):
            if n in subset:
                want = want * radices[j] + digits[j]
        assert np.array_equal(np.zeros_like(want) if key is None else key, want), subset
        for j, n in enumerate(names):   # the grid row of a point's key holds that point's values
            if n in subset:
                assert np.array_equal(grid[n][want], np.asarray(values[j], dtype=float)[digits[j]])
        lo, hi = int(want.min()), int(want.max())      # a span of the grid: the same rows
        part = fac.grid(subset, lo, hi)
        assert all(np.array_equal(part[n], grid[n][lo:hi + 1]) for n in part)


def test_array_codes_round_trip_any_values():
    rng = np.random.default_rng(1)
    p = {"a": rng.choice([3, 7, 1000], 500), "b": rng.normal(size=500).round(1), "c": np.full(500, 5.0),
         "d": rng.choice([1.5, np.nan], 500)}
    fac = ArrayFactors(p, tuple(p))
    key, grid = fac.key(tuple(p)), fac.grid(tuple(p))
    for k, v in p.items():
        assert np.array_equal(grid[k][key], v, equal_nan=True), k
        assert np.all(np.diff(fac.values(k)[~np.isnan(fac.values(k))]) > 0)


def test_grid_factors_and_parameter_arrays_give_identical_bits():
    """The sweep hands the model grid factors, evaluate_batch's contract takes arrays: the same
    points give bit-identical results either way."""
    sp = _small_space()
    index = np.arange(sp.size)
    a = evaluate_batch(LLAMA, U280, Workload(), sp.factors(index))
    b = evaluate_batch(LLAMA, U280, Workload(), sp.params_at(index))
    assert a["feasible"].any() and not a["feasible"].all()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_a_point_does_not_depend_on_its_batch():
    """Chunk boundaries, the roll-up blocks and the other points in the call never change a
    point's figures (the sums run per point in a fixed order)."""
    sp = _small_space()
    full = evaluate_batch(LLAMA, U280, Workload(), sp.factors(np.arange(sp.size)))
    rng = np.random.default_rng(3)
    for idx in (rng.choice(sp.size, 37, replace=False), np.arange(1000, 1500), np.array([sp.size - 1])):
        part = evaluate_batch(LLAMA, U280, Workload(), sp.factors(idx))
        one = evaluate_batch(LLAMA, U280, Workload(), {k: v for k, v in sp.params_at(idx).items()})
        for k in full:
            assert np.array_equal(part[k], full[k][idx]), k
            assert np.array_equal(one[k], full[k][idx]), k


RANKING = {"layers": 4, "unit_order": ((2, "ffn"), (0, "attn"), (3, "ffn"), (1, "ffn"), (0, "ffn"), (2, "attn"),
                                        (1, "attn"), (3, "attn")), "hi_wbits": 8, "profiles": (2, 4), "base": {}}


def test_formulas_declare_every_parameter_they_read(monkeypatch):
    """Each formula runs on a grid of only its declared parameters: reading another one would be
    a KeyError, so evaluating a space where every parameter varies exercises every declaration."""
    import codesign.quant.mixed_precision as MP
    monkeypatch.setattr(MP, "ranking", lambda model=None: RANKING)
    d = {n: v for n, v in _small_space().as_dict().items()}
    d.update(kvbits=[4, 8], zero_point=[False, True], wbuf_depth=[256, 512], abuf_depth=[32768, 65536],
             kvbuf_depth=[512, 1024], kv_channels=[1, 2], method=["rtn", "gptq"], mixed=[0, 2], hi_wbits=[8, 16])
    sp = default_space(U280, d)
    assert all(len(v) > 1 for v in sp.as_dict().values())
    assert set(PARAM_NAMES) == set(sp.as_dict())
    r = evaluate_batch(LLAMA, U280, Workload(), sp.factors(np.arange(0, sp.size, 7)))
    assert np.isfinite(r["decode_tokens_per_s"]).all()


def test_points_spread_over_every_parameter_are_evaluated_per_point():
    """Random points over every parameter (thousands of clocks, channel counts, ...) have far more
    combinations than points: the tables fall back to one entry per point, same results."""
    rng = np.random.default_rng(11)
    n = 3000
    p = {"wbits": rng.choice([2, 3, 4, 8, 16], n), "abits": rng.choice([4, 8, 16], n),
         "kvbits": rng.choice([4, 8, 16], n), "group": rng.choice([32, 64, 128, 256], n),
         "zero_point": rng.random(n) < 0.5, "sparsity": rng.integers(0, 3, n),
         "rows": rng.integers(1, 1025, n), "cols": rng.integers(1, 1025, n),
         "sfu_lanes": rng.integers(1, 257, n), "wbuf_depth": rng.integers(2, 65537, n),
         "abuf_depth": rng.integers(64, 1 << 20, n), "kvbuf_depth": rng.integers(16, 1 << 20, n),
         "weight_channels": rng.integers(1, 65, n), "kv_channels": rng.integers(1, 65, n),
         "port_bits": rng.choice([64, 128, 256, 512], n), "freq_mhz": rng.integers(50, 801, n)}
    whole = evaluate_batch(LLAMA, U280, Workload(), p)
    for i in rng.choice(n, 5, replace=False):
        one = evaluate_batch(LLAMA, U280, Workload(), {k: v[i:i + 1] for k, v in p.items()})
        for k in whole:
            assert np.array_equal(one[k], whole[k][i:i + 1]), k
