"""Full-layer regressions of the processor (codesign_top) on Icarus and Verilator.

* four design points (bits, tile shapes, group/column ratio, zero points, SFU lanes below, across
  and above the activation block size GROUP, port widths) on a small random LLaMA layer, bit-exact
  after every instruction (Icarus: cheap builds);
* Verilator, one build shared by: the same layer, random backpressure on every AXI channel, reset in
  the middle of an instruction, and a planted fault (one flipped weight bit) that must be caught;
* SmolLM2-135M layer 0, one decode step with real weights and a real KV cache, on each simulator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
import rtl_build  # noqa: E402

from codesign.design import Design, Hardware, Quant  # noqa: E402
from codesign.gen.rtl.params import core_params  # noqa: E402

pytestmark = pytest.mark.sim

SMALL = "d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96"
POINTS = {
    # group spans 4 beats; 64-bit port (8 words per instruction)
    "w4a8kv8-r2c8": (Quant(wbits=4, abits=8, kvbits=8, group=32),
                     Hardware(rows=2, cols=8, sfu_lanes=4, abuf_depth=1024, kvbuf_depth=16, port_bits=64)),
    # two groups per beat, zero points, 3 SFU lanes, 48-byte beats across 16-byte words,
    # KV4 rows of 8 bytes (unaligned KV writes)
    "w2a4kv4zp-r3c64": (Quant(wbits=2, abits=4, kvbits=4, group=32, zero_point=True),
                        Hardware(rows=3, cols=64, sfu_lanes=3, abuf_depth=1024, kvbuf_depth=16, port_bits=128)),
    # wide operands: W8 A16 KV16, group = 16 columns x 4 beats, 256-bit port
    "w8a16kv16-r4c16": (Quant(wbits=8, abits=16, kvbits=16, group=64),
                        Hardware(rows=4, cols=16, sfu_lanes=8, abuf_depth=1024, kvbuf_depth=16, port_bits=256)),
    # W8A8KV8 (issue 4's accuracy point) with SFU lanes > GROUP: two activation blocks close per
    # quantizer beat, and the FFN-down input (96) ends in a half beat holding one block
    "w8a8kv8-r2c32-l64": (Quant(wbits=8, abits=8, kvbits=8, group=32),
                          Hardware(rows=2, cols=32, sfu_lanes=64, abuf_depth=1024, kvbuf_depth=16, port_bits=512)),
}
# constrained-random layer shapes per point (every one pads K to the tile / group, and odd row tiles)
DIMS = {"w4a8kv8-r2c8": SMALL,
        "w2a4kv4zp-r3c64": "d_model=96,n_heads=6,n_kv_heads=2,head_dim=16,d_ffn=160",
        "w8a16kv16-r4c16": "d_model=64,n_heads=2,n_kv_heads=1,head_dim=32,d_ffn=80",
        "w8a8kv8-r2c32-l64": SMALL}
SMOL_POINT = (Quant(wbits=4, abits=8, kvbits=8, group=32),
              Hardware(rows=8, cols=32, sfu_lanes=16, abuf_depth=8192, kvbuf_depth=32, port_bits=512))
SMOL_CONTEXT = 12


def design_of(point) -> Design:
    q, hw = point
    return Design(model="smollm2-135m", device="u280", quant=q, hw=hw).validate()


def _vectors(design: Design, folder: Path, context: int, random_dims: str | None = None, source=None) -> Path:
    from codesign.vectors import write_vectors

    if not (folder / "manifest.json").is_file():
        write_vectors(design, None if (random_dims or source) else "smollm2-135m", 0, folder, context=context,
                      random_dims=random_dims, seed=5, source=source, force=True)
    return folder


_BUILDS: dict = {}


def core_build(sim: str, design: Design, tmp_path_factory):
    """(runner, build folder) of codesign_top for the design's parameters: one build per (simulator,
    parameters) in this process (the full-layer modules of dense, sparse and mixed designs share it)."""
    params = core_params(design)
    key = (sim, tuple(sorted(params.items())))
    if key not in _BUILDS:
        d = tmp_path_factory.mktemp(f"core_{sim}")
        _BUILDS[key] = (rtl_build.build(sim, "codesign_top", rtl_build.core_sources(), params, d), d)
    return _BUILDS[key]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    yield lambda sim, design: core_build(sim, design, tmp_path_factory)


def run_layer(runner, build_dir: Path, vectors: Path, tag: str, **env) -> dict:
    report = build_dir / f"report_{tag}.json"
    n, failed, xml = rtl_build.run(runner, "codesign_top", ["test_core_layer"], build_dir, tag,
                                   {"VECTORS": vectors, "REPORT": report, "CORE_PATH": "u_core", **env})
    rep = json.loads(report.read_text()) if report.is_file() else {}
    assert n == 1, "the cocotb layer test did not run"
    assert failed == 0, f"full-layer test failed ({tag}): {rep.get('mismatch') or rep.get('error')}; log: {xml}"
    return rep


# the fast tier keeps the first two design points; every point runs in the full tier
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.xdist_group(f"core_icarus_{n}")]
                                               + ([] if i < 2 else [pytest.mark.slow]))
                                  for i, n in enumerate(POINTS)])
def test_layer_icarus_design_points(name, builds, tmp_path):
    design = design_of(POINTS[name])
    vec = _vectors(design, tmp_path / "vec", 6, DIMS[name])
    runner, d = builds("icarus", design)
    rep = run_layer(runner, d, vec, f"layer_{name}")
    assert rep["mismatch"] is None and rep["done"]
    assert len(rep["steps"]) == 17 and all(s["ok"] for s in rep["steps"])
    assert rep["hw_cycles"] == rep["cycles"] > 0   # the AXI-Lite cycle register reads the same counter


# BANKED = 1 (lane_ram.v: the buffers as banks of distributed RAM, as the board builds synthesise them):
# the same layer passes and takes exactly the cycles of the flat buffers; the points cover SFU lanes
# above and below the other lane groups, GQA (rep 3: three ATTN write groups) and ROPE's two halves
_BANKED = ["w4a8kv8-r2c8", "w2a4kv4zp-r3c64", "w8a8kv8-r2c32-l64"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.xdist_group(f"core_icarus_{n}")]
                                               + ([] if i < 1 else [pytest.mark.slow]))
                                  for i, n in enumerate(_BANKED)])
def test_layer_icarus_banked_buffers_match_flat(name, builds, tmp_path_factory, tmp_path):
    design = design_of(POINTS[name])
    vec = _vectors(design, tmp_path / "vec", 6, DIMS[name])
    flat = run_layer(*builds("icarus", design), vec, f"flat_{name}")
    d = tmp_path_factory.mktemp("core_icarus_banked")
    runner = rtl_build.build("icarus", "codesign_top", rtl_build.core_sources(), {**core_params(design), "BANKED": 1}, d)
    rep = run_layer(runner, d, vec, f"banked_{name}")
    assert rep["mismatch"] is None and rep["done"] and all(s["ok"] for s in rep["steps"])
    assert rep["cycles"] == flat["cycles"] > 0


@pytest.mark.xdist_group("core_icarus_w4a8kv8-r2c8")
def test_layer_ports_only_mode(builds, tmp_path):
    """RTL without the core hierarchy (e.g. exported by Vitis HLS): the bench falls back to the ports:
    ap_done over AXI4-Lite, then the KV region and the layer output in memory are compared."""
    design = design_of(POINTS["w4a8kv8-r2c8"])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    runner, d = builds("icarus", design)
    report = d / "report_ports.json"
    n, failed, _ = rtl_build.run(runner, "codesign_top", ["test_core_layer"], d, "ports",
                                 {"VECTORS": vec, "REPORT": report, "CORE_PATH": "no_such_instance"})
    rep = json.loads(report.read_text())
    assert n == 1 and failed == 0, rep
    assert rep["mode"] == "ports-only" and rep["mismatch"] is None
    assert [s["op"] for s in rep["steps"]] == ["KVSTORE", "STORE"]


@pytest.fixture(scope="module")
def verilator_point(builds, tmp_path_factory):
    # the SmolLM2 build: one Verilator model (~1 min of C++) serves every Verilator test
    design = design_of(SMOL_POINT)
    vec = _vectors(design, tmp_path_factory.mktemp("vec_v"), 6, SMALL)
    runner, d = builds("verilator", design)
    return runner, d, vec


@pytest.mark.xdist_group("core_verilator")
def test_layer_verilator(verilator_point):
    runner, d, vec = verilator_point
    rep = run_layer(runner, d, vec, "plain")
    assert rep["mismatch"] is None and len(rep["steps"]) == 17


@pytest.mark.xdist_group("core_verilator")
def test_layer_verilator_backpressure_every_channel(verilator_point):
    """AR, R, AW, W, B of all three masters pause at random; results stay exact, it just takes longer."""
    runner, d, vec = verilator_point
    plain = run_layer(runner, d, vec, "plain2")
    rep = run_layer(runner, d, vec, "bp", BACKPRESSURE=0.4)
    assert rep["mismatch"] is None and rep["backpressure"] == 0.4
    assert rep["cycles"] > plain["cycles"], "backpressure did not slow the kernel: was it applied?"


@pytest.mark.xdist_group("core_verilator")
def test_layer_verilator_reset_mid_instruction(verilator_point):
    runner, d, vec = verilator_point
    rep = run_layer(runner, d, vec, "reset", RESET_AT=7, RESET_DELAY=40)   # inside GEMV wo
    assert rep["mismatch"] is None and len(rep["steps"]) == 17


@pytest.mark.xdist_group("core_verilator")
def test_planted_weight_fault_is_caught(verilator_point):
    """One flipped weight bit in gmem_w: the regression reports the GEMV, index, expected, actual."""
    runner, d, vec = verilator_point
    rep = run_layer(runner, d, vec, "fault", FAULT="weight")
    mm = rep["mismatch"]
    assert mm is not None and mm["op"] == "GEMV" and mm["layer_op"] == "wq"
    assert mm["expected"] != mm["actual"]
    assert "instruction 2 (GEMV wq)" in mm["message"] and "expected" in mm["message"]


@pytest.fixture(scope="module")
def smollm2_vectors(tmp_path_factory):
    from codesign.vectors import real_source

    source = real_source("smollm2-135m", 0, SMOL_CONTEXT)
    design = design_of(SMOL_POINT)
    return design, _vectors(design, tmp_path_factory.mktemp("smol"), SMOL_CONTEXT, source=source)


@pytest.mark.slow
@pytest.mark.parametrize("sim", [pytest.param("verilator", marks=pytest.mark.xdist_group("core_verilator")),
                                 pytest.param("icarus", marks=pytest.mark.xdist_group("core_smol_icarus"))])
def test_smollm2_layer0_decode(sim, smollm2_vectors, builds):
    design, vec = smollm2_vectors
    runner, d = builds(sim, design)
    rep = run_layer(runner, d, vec, f"smollm2_{sim}")
    assert rep["mismatch"] is None and rep["done"]
    assert len(rep["steps"]) == 17 and all(s["ok"] for s in rep["steps"])
