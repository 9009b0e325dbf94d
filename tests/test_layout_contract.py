"""One owner for the weight-stream layout: the bytes the analytical model prices for a GEMV are the
bytes ``quant.pack.pack_matrix`` writes, exactly, over the whole default sweep space (W2..W16, with
and without zero points, every group, every MPE shape, dense and every N:M sparsity)."""

import itertools

import numpy as np

from codesign.design import SPARSITY_CODES, Hardware, Quant, numeric_value
from codesign.isa.instr import Instr
from codesign.model import instruction_cycles
from codesign.quant import numerics as N
from codesign.quant import pack as P
from codesign.search.defaults import DEFAULT_ARRAY, DEFAULT_QUANT

WBITS = sorted(set(DEFAULT_QUANT["wbits"]) | {16})          # the default space, plus W16 (space files add it)
SPARSITY = sorted(set(DEFAULT_QUANT["sparsity"]) | set(SPARSITY_CODES), key=SPARSITY_CODES.index)  # + 4:8
# shapes that pad both ways: n not a multiple of any row count, k not a multiple of any group/cols
SHAPES = ((72, 200), (9, 576))


def _points():
    for w, zp, g, r, c, sp in itertools.product(WBITS, DEFAULT_QUANT["zero_point"], DEFAULT_QUANT["group"],
                                                DEFAULT_ARRAY["rows"], DEFAULT_ARRAY["cols"], SPARSITY):
        n_keep, m = N.parse_sparsity(sp)
        span = c * m // n_keep          # a beat's inputs; the template's MPE group slices (a violation otherwise)
        if c % n_keep == 0 and g % m == 0 and max(span, g) % min(span, g) == 0:
            yield w, zp, g, r, c, sp


def test_model_prices_the_bytes_the_packer_writes():
    pts = list(_points())
    names = ("wbits", "zero_point", "group", "rows", "cols", "sparsity")
    cols = {k: np.array(v) for k, v in zip(names, zip(*pts))}
    q = {f: np.full(len(pts), numeric_value(f, getattr(Quant(), f))) for f in Quant.__dataclass_fields__}
    h = {f: np.full(len(pts), getattr(Hardware(), f)) for f in Hardware.__dataclass_fields__}
    q.update(wbits=cols["wbits"], zero_point=cols["zero_point"].astype(float), group=cols["group"],
             sparsity=np.array([numeric_value("sparsity", s) for s in cols["sparsity"]]))
    h.update(rows=cols["rows"], cols=cols["cols"])
    rng = np.random.default_rng(0)
    checked = 0
    for n, k in SHAPES:
        priced = instruction_cycles([Instr("GEMV", m=1, n=n, k=k)], q, h, "u280")["weight_bytes"][0]
        w = rng.normal(0.0, 0.05, (n, k))
        quantized = {}
        for i, (wb, zp, g, r, c, sp) in enumerate(pts):
            if (wb, zp, g, sp) not in quantized:
                quantized[wb, zp, g, sp] = N.quantize_weight_groups(w, wb, g, zp, sparsity=sp)
            written = len(P.pack_matrix(quantized[wb, zp, g, sp], r, c))
            assert priced[i] == written, (n, k, dict(wbits=wb, zero_point=zp, group=g, rows=r, cols=c, sparsity=sp))
            checked += 1
    assert checked == 2 * len(pts) and len(pts) > 1500
    assert {p[-1] for p in pts} == set(SPARSITY)


def test_sweep_float32_prices_the_same_bytes():
    # the sweep evaluates in float32: stream_geometry on float32 arrays gives the float64 figures
    pts = list(_points())
    arr = {k: np.array(v) for k, v in zip(("wbits", "zero_point", "group", "rows", "cols"), zip(*[p[:5] for p in pts]))}
    code = np.array([numeric_value("sparsity", p[5]) for p in pts])
    for n, k in SHAPES:
        g64 = P.stream_geometry(n, k, arr["wbits"], arr["group"], arr["zero_point"], arr["rows"], arr["cols"], code)
        f = np.float32
        g32 = P.stream_geometry(f(n), f(k), arr["wbits"].astype(f), arr["group"].astype(f),
                                arr["zero_point"].astype(f), arr["rows"].astype(f), arr["cols"].astype(f), code.astype(f))
        assert g32["bytes"].dtype == np.float32
        assert np.array_equal(g32["bytes"].astype(np.float64), g64["bytes"])
