"""One owner for the weight-stream layout: the bytes the analytical model prices for a GEMV are the
bytes ``quant.pack.pack_matrix`` writes, exactly, over the whole default sweep space (W2..W16, with
and without zero points, every group, every MPE shape)."""

import itertools

import numpy as np

from codesign.design import Hardware, Quant
from codesign.isa.instr import Instr
from codesign.model import instruction_cycles
from codesign.quant import numerics as N
from codesign.quant import pack as P
from codesign.search.defaults import DEFAULT_ARRAY, DEFAULT_QUANT

WBITS = sorted(set(DEFAULT_QUANT["wbits"]) | {16})          # the default space, plus W16 (space files add it)
# shapes that pad both ways: n not a multiple of any row count, k not a multiple of any group/cols
SHAPES = ((72, 200), (9, 576))


def _points():
    for w, zp, g, r, c in itertools.product(WBITS, DEFAULT_QUANT["zero_point"], DEFAULT_QUANT["group"],
                                            DEFAULT_ARRAY["rows"], DEFAULT_ARRAY["cols"]):
        if max(c, g) % min(c, g) == 0:      # the template's MPE group slices (a violation otherwise)
            yield w, zp, g, r, c


def test_model_prices_the_bytes_the_packer_writes():
    pts = list(_points())
    cols = {k: np.array(v) for k, v in zip(("wbits", "zero_point", "group", "rows", "cols"), zip(*pts))}
    q = {f: np.full(len(pts), getattr(Quant(), f)) for f in Quant.__dataclass_fields__}
    h = {f: np.full(len(pts), getattr(Hardware(), f)) for f in Hardware.__dataclass_fields__}
    q.update(wbits=cols["wbits"], zero_point=cols["zero_point"].astype(float), group=cols["group"])
    h.update(rows=cols["rows"], cols=cols["cols"])
    rng = np.random.default_rng(0)
    checked = 0
    for n, k in SHAPES:
        priced = instruction_cycles([Instr("GEMV", m=1, n=n, k=k)], q, h, "u280")["weight_bytes"][0]
        w = rng.normal(0.0, 0.05, (n, k))
        quantized = {}
        for i, (wb, zp, g, r, c) in enumerate(pts):
            if (wb, zp, g) not in quantized:
                quantized[wb, zp, g] = N.quantize_weight_groups(w, wb, g, zp)
            written = len(P.pack_matrix(quantized[wb, zp, g], r, c))
            assert priced[i] == written, (n, k, dict(wbits=wb, zero_point=zp, group=g, rows=r, cols=c))
            checked += 1
    assert checked == 2 * len(pts) and len(pts) > 500
