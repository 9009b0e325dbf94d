"""Per-block cocotb regressions of the processor core (hw/rtl) on Verilator and Icarus.

MPE over three parameter sets (different bits, tile shapes, group/column ratios, zero points);
instruction decode against the Python encoder;
memory movers and the AXI4-Lite control slave. One build per (block, simulator, parameters).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
import rtl_build  # noqa: E402

pytestmark = pytest.mark.sim

MPE_POINTS = [
    dict(ROWS=2, COLS=8, WBITS=4, ABITS=8, GROUP=32, SCALE_BITS=16, ZP=0),   # group spans 4 beats
    dict(ROWS=3, COLS=16, WBITS=2, ABITS=4, GROUP=8, SCALE_BITS=12, ZP=1),   # 2 groups per beat
    dict(ROWS=2, COLS=4, WBITS=8, ABITS=16, GROUP=4, SCALE_BITS=16, ZP=0),  # wide operands
]
# N:M sparse MPE (docs/NUMERICS.md "N:M sparse weight stream"): lane = weight + index, BI inputs/beat
SPARSE_POINTS = [
    dict(ROWS=2, COLS=8, WBITS=4, ABITS=8, GROUP=32, SCALE_BITS=16, ZP=0, NM_N=2, NM_M=4),   # BI 16, 2 beats/group
    dict(ROWS=3, COLS=16, WBITS=2, ABITS=4, GROUP=8, SCALE_BITS=12, ZP=1, NM_N=2, NM_M=4),  # 4 groups per beat, zp
    dict(ROWS=2, COLS=8, WBITS=8, ABITS=8, GROUP=16, SCALE_BITS=16, ZP=0, NM_N=4, NM_M=8),  # 4:8, BI = GROUP
    dict(ROWS=2, COLS=2, WBITS=4, ABITS=8, GROUP=8, SCALE_BITS=16, ZP=1, NM_N=2, NM_M=4),   # one block per beat
]


def _id(p: dict) -> str:
    s = "r{ROWS}c{COLS}w{WBITS}a{ABITS}g{GROUP}z{ZP}".format(**p)
    return s + ("-nm{NM_N}of{NM_M}".format(**p) if "NM_N" in p else "")


def _run_block(sim, top, sources, params, modules, tmp_path, env=None):
    runner = rtl_build.build(sim, top, sources, params, tmp_path / "build")
    n, failed, xml = rtl_build.run(runner, top, modules, tmp_path / "build", top,
                                   {**params, **(env or {})})
    assert n > 0, "no cocotb test ran"
    assert failed == 0, f"{failed} of {n} cocotb tests failed: see {xml}"


# Verilator builds cost ~30 s each: every point on Icarus, the first and third on Verilator.
# Sparse points: all on Icarus, the first and third on Verilator (full tier: "verilator" ids are slow).
MPE_CASES = [(sim, p) for p in MPE_POINTS for sim in rtl_build.SIMULATORS
             if sim == "icarus" or p is not MPE_POINTS[1]]
MPE_CASES += [(sim, p) for p in SPARSE_POINTS for sim in rtl_build.SIMULATORS
              if sim == "icarus" or p in (SPARSE_POINTS[0], SPARSE_POINTS[2])]


@pytest.mark.parametrize("sim,params", MPE_CASES, ids=[f"{s}-{_id(p)}" for s, p in MPE_CASES])
def test_mpe(sim, params, tmp_path):
    _run_block(sim, "mpe", [rtl_build.RTL_DIR / "mpe.v"], params, ["test_mpe"], tmp_path)


# run-time weight precision (docs/RTL.md "Weight modes"): lane widening and the beat assembler
WEIGHT_BEAT_POINTS = [
    dict(ROWS=2, COLS=8, WBITS=4, WBITS_HI=8, ZP=0, NM_M=1),    # W8 beat = 2 words
    dict(ROWS=3, COLS=4, WBITS=4, WBITS_HI=8, ZP=1, NM_M=4),    # 2:4 lanes (index bits), zero points: 108 bits in 2 words
    dict(ROWS=2, COLS=8, WBITS=2, WBITS_HI=8, ZP=0, NM_M=1),    # W8 over W2 words: 4 parts
    dict(ROWS=2, COLS=8, WBITS=4, WBITS_HI=0, ZP=0, NM_M=1),    # one-mode build: the identity
]
WEIGHT_BEAT_CASES = [(sim, p) for p in WEIGHT_BEAT_POINTS for sim in rtl_build.SIMULATORS
                     if sim == "icarus" or p is WEIGHT_BEAT_POINTS[1]]


@pytest.mark.parametrize("sim,params", WEIGHT_BEAT_CASES,
                         ids=[f"{s}-r{p['ROWS']}c{p['COLS']}w{p['WBITS']}h{p['WBITS_HI']}z{p['ZP']}m{p['NM_M']}"
                              for s, p in WEIGHT_BEAT_CASES])
def test_weight_beat(sim, params, tmp_path):
    _run_block(sim, "weight_beat", [rtl_build.RTL_DIR / "weight_beat.v"], params, ["test_weight_beat"], tmp_path)


DECODE_POINTS = [dict(ROWS=2, COLS=8, WBITS=4, KVBITS=8, GROUP=32, ZP=0),
                 # the attention unit's group limit (rep <= MAX_REP): SmolLM2's 3, and the board's 1
                 dict(ROWS=3, COLS=64, WBITS=2, KVBITS=4, GROUP=32, ZP=1, MAX_REP=3),
                 dict(ROWS=1, COLS=4, WBITS=4, KVBITS=8, GROUP=32, ZP=0, MAX_REP=1),
                 # N:M sparse streams: beat count and K' as pack.stream_geometry (BI = COLS*M/N)
                 dict(ROWS=2, COLS=8, WBITS=4, KVBITS=8, GROUP=32, ZP=0, NM_N=2, NM_M=4),
                 dict(ROWS=3, COLS=64, WBITS=2, KVBITS=4, GROUP=32, ZP=1, NM_N=4, NM_M=8),
                 # run-time weight modes (mixed precision): W4 and W8 streams, dense and 2:4
                 dict(ROWS=2, COLS=8, WBITS=4, WBITS_HI=8, KVBITS=8, GROUP=32, ZP=0),
                 dict(ROWS=3, COLS=16, WBITS=4, WBITS_HI=8, KVBITS=8, GROUP=32, ZP=1, NM_N=2, NM_M=4)]


@pytest.mark.parametrize("params", DECODE_POINTS, ids=lambda p: "r{ROWS}c{COLS}w{WBITS}g{GROUP}z{ZP}".format(**p)
                         + ("-nm{NM_N}of{NM_M}".format(**p) if "NM_N" in p else "")
                         + ("-hi{WBITS_HI}".format(**p) if "WBITS_HI" in p else "")
                         + ("-rep{MAX_REP}".format(**p) if "MAX_REP" in p else ""))
def test_decode(params, tmp_path):
    """codesign_decode (fields from the generated codesign_isa.vh) against codesign.isa.encoding."""
    srcs = [rtl_build.RTL_DIR / "codesign_isa.vh", rtl_build.RTL_DIR / "codesign_decode.v"]
    _run_block("icarus", "codesign_decode", srcs, params, ["test_decode"], tmp_path)


MOVER_POINTS = [dict(DATA_W=64, MAX_BURST=16), dict(DATA_W=512, MAX_BURST=64)]


@pytest.mark.parametrize("sim,params", [("icarus", MOVER_POINTS[0]), ("icarus", MOVER_POINTS[1]),
                                        ("verilator", MOVER_POINTS[1])],
                         ids=lambda v: v if isinstance(v, str) else f"w{v['DATA_W']}")
def test_movers(sim, params, tmp_path):
    srcs = [rtl_build.RTL_DIR / f for f in ("axi_read_master.v", "axi_write_master.v", "tb/tb_movers.v")]
    _run_block(sim, "tb_movers", srcs, params, ["test_movers"], tmp_path)
