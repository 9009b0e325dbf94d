"""Full-layer regressions of the processor (codesign_top) on N:M sparse designs (issue 16.3).

The sparse weight stream (docs/NUMERICS.md "N:M sparse weight stream") through the same weight
mover, parser and MPE as dense designs: lane = kept weight + its index in its block of M inputs,
BI = COLS*M/N inputs per beat. Bit-exact after every instruction against the golden executor on a
small random LLaMA layer (Icarus), a planted fault in a sparse index (one flipped index bit in
gmem_w) must be caught at that GEMV, and (slow) SmolLM2-135M layer 0 with real weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))

from codesign.design import Hardware, Quant  # noqa: E402
from codesign.gen.rtl.params import core_params  # noqa: E402

from test_rtl_core import SMALL, _vectors, core_build, design_of, run_layer  # noqa: E402

pytestmark = pytest.mark.sim

SPARSE_POINTS = {
    # 2:4, BI = 16 inputs per beat (2 beats per group), 64-bit port, 48-bit beats across words
    "w4a8kv8-nm24-r2c8": (Quant(wbits=4, abits=8, kvbits=8, group=32, sparsity="2:4"),
                          Hardware(rows=2, cols=8, sfu_lanes=4, abuf_depth=1024, kvbuf_depth=16, port_bits=64)),
    # 2:4 with zero points, BI = 64 = two groups per beat, 3 row lanes (odd row tiles)
    "w4a8kv8zp-nm24-r3c32": (Quant(wbits=4, abits=8, kvbits=8, group=32, zero_point=True, sparsity="2:4"),
                             Hardware(rows=3, cols=32, sfu_lanes=8, abuf_depth=1024, kvbuf_depth=16,
                                      port_bits=128)),
    # 4:8 (3 index bits, 7-bit lanes), BI = 16, 64-bit port
    "w4a8kv8-nm48-r2c8": (Quant(wbits=4, abits=8, kvbits=8, group=32, sparsity="4:8"),
                          Hardware(rows=2, cols=8, sfu_lanes=4, abuf_depth=1024, kvbuf_depth=16, port_bits=64)),
}
SMOL_SPARSE = (Quant(wbits=4, abits=8, kvbits=8, group=32, sparsity="2:4"),
               Hardware(rows=8, cols=32, sfu_lanes=16, abuf_depth=8192, kvbuf_depth=32, port_bits=512))
SMOL_CONTEXT = 12

def test_core_params_carry_nm():
    """The mapper's N:M reaches the Verilog parameters (dense designs keep 1:1)."""
    p = core_params(design_of(SPARSE_POINTS["w4a8kv8-nm24-r2c8"]))
    assert (p["NM_N"], p["NM_M"]) == (2, 4)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(f"sparse_icarus_{n}"))
                                  for n in SPARSE_POINTS])
def test_sparse_layer_icarus(name, tmp_path, tmp_path_factory):
    design = design_of(SPARSE_POINTS[name])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    runner, d = core_build("icarus", design, tmp_path_factory)
    rep = run_layer(runner, d, vec, f"layer_{name}")
    assert rep["mismatch"] is None and rep["done"]
    assert len(rep["steps"]) == 17 and all(s["ok"] for s in rep["steps"])


@pytest.mark.xdist_group("sparse_icarus_w4a8kv8-nm24-r2c8")
def test_planted_sparse_index_fault_is_caught(tmp_path, tmp_path_factory):
    """One flipped index bit of a kept weight in gmem_w: the lane reads another input of its block;
    the regression stops at that GEMV with expected/actual."""
    design = design_of(SPARSE_POINTS["w4a8kv8-nm24-r2c8"])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    runner, d = core_build("icarus", design, tmp_path_factory)
    rep = run_layer(runner, d, vec, "index_fault", FAULT="index")
    mm = rep["mismatch"]
    assert mm is not None and mm["op"] == "GEMV" and mm["layer_op"] == "wq"
    assert mm["expected"] != mm["actual"]


@pytest.mark.slow
@pytest.mark.xdist_group("sparse_verilator")
def test_sparse_layer_verilator_backpressure_and_reset(tmp_path, tmp_path_factory):
    """Verilator (one build): the 2:4 layer plain, with random backpressure on every AXI channel, and
    with a reset inside a GEMV, bit-exact."""
    design = design_of(SPARSE_POINTS["w4a8kv8-nm24-r2c8"])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    runner, d = core_build("verilator", design, tmp_path_factory)
    plain = run_layer(runner, d, vec, "plain")
    assert plain["mismatch"] is None and len(plain["steps"]) == 17
    bp = run_layer(runner, d, vec, "bp", BACKPRESSURE=0.4)
    assert bp["mismatch"] is None and bp["cycles"] > plain["cycles"]
    rs = run_layer(runner, d, vec, "reset", RESET_AT=7, RESET_DELAY=40)
    assert rs["mismatch"] is None and len(rs["steps"]) == 17


@pytest.mark.slow
@pytest.mark.xdist_group("sparse_smol_icarus")
def test_sparse_smollm2_layer0_icarus(tmp_path, tmp_path_factory):
    from codesign.vectors import real_source

    design = design_of(SMOL_SPARSE)
    vec = _vectors(design, tmp_path / "smol", SMOL_CONTEXT, source=real_source("smollm2-135m", 0, SMOL_CONTEXT))
    runner, d = core_build("icarus", design, tmp_path_factory)
    rep = run_layer(runner, d, vec, "smollm2_sparse")
    assert rep["mismatch"] is None and rep["done"]
    assert len(rep["steps"]) == 17 and all(s["ok"] for s in rep["steps"])
