"""C-simulation of the generated HLS kernel, bit-exact against the golden vectors after every
instruction: three design points (different weight bits, zero points, KV bits, tile shapes, port
widths) on a small random layer, the real SmolLM2-135M layer-0 decode step, and a corrupted golden
value that csim must report."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.design import Design, Hardware, Quant, load_design
from codesign.gen.hls import csim
from codesign.gen.hls.headers import config_header
from codesign.gen.hls.project import emit_project
from codesign.gen.hls.tbfiles import read_checks
from codesign.isa.encoding import decode

pytestmark = pytest.mark.cxx   # g++ C-simulation

SMALL = {"seed": 3, "d_model": 96, "n_heads": 6, "n_kv_heads": 2, "head_dim": 16, "d_ffn": 160}

# Three points from the sweep's Pareto front (codesign sweep --model smollm2-135m --device u280 with
# the space files in hw/hls/points/, one per weight width; best.json of each): different weight bits,
# KV bits, groups and MPE tile shapes (32x32, 32x16, 8x64). A fourth, hand-made point covers what the
# front did not pick: zero points, 128-bit ports, another device.
POINTS_DIR = Path(__file__).resolve().parents[1] / "hw" / "hls" / "points"
POINTS = {p.stem: load_design(p) for p in sorted(POINTS_DIR.glob("*.json"))}
POINTS["w3a8kv4_zp_8x32_u250"] = Design(
    "smollm2-135m", "u250", quant=Quant(3, 8, 4, 32, True),
    hw=Hardware(rows=8, cols=32, sfu_lanes=4, abuf_depth=4096, kvbuf_depth=256, port_bits=128, freq_mhz=200))


def test_pareto_points_present():
    assert {"w4a8kv8_g32_32x32", "w8a8kv8_g64_32x16", "w3a8kv4_g32_8x64"} <= set(POINTS)
    shapes = {(d.quant.wbits, d.hw.rows, d.hw.cols) for d in POINTS.values()}
    assert len(shapes) == len(POINTS)


# the fast tier keeps two of the four points (different W, KV, group, tile); all four run in the full tier
@pytest.mark.parametrize("name", [n if i < 2 else pytest.param(n, marks=pytest.mark.slow)
                                  for i, n in enumerate(sorted(POINTS))])
def test_design_point_csim_bit_exact(name, tmp_path):
    d = POINTS[name]
    out = tmp_path / name
    emit_project(d, out, context=12, small=SMALL)
    res = csim.run(out, opt="-O1")
    assert res.passed, (res.first_mismatch, res.summary, res.stderr)
    ops = [r["op"] for r in res.rows]
    assert ops.count("GEMV") == 7 and {"NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD", "LOAD", "STORE"} <= set(ops)
    assert all(r["elements"] > 0 for r in res.rows)          # every instruction was compared
    # the MPE ran exactly its tile count: ceil(n/ROWS) x K'/COLS beats (K' = k padded to max(COLS, group)),
    # after the activation quantizer's two SFU passes (max |x|, quantize) over k and K'
    L, rows, cols = d.hw.sfu_lanes, d.hw.rows, d.hw.cols
    step = max(cols, d.quant.group)
    instrs = decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))
    for r, ins in zip(res.rows, instrs):
        if ins.op == "GEMV":
            kp = -(-ins.k // step) * step
            assert r["beats"] == -(-ins.k // L) + -(-kp // L) + -(-ins.n // rows) * (kp // cols), (r, ins)
    hdr = (out / "src" / "codesign_config.h").read_text()
    assert f"static const int WBITS = {d.quant.wbits};" in hdr
    assert f"static const int ROWS = {d.hw.rows};" in hdr and f"static const int COLS = {d.hw.cols};" in hdr


def test_generated_code_differs_between_points():
    headers = {n: config_header(d) for n, d in POINTS.items()}
    assert len(set(headers.values())) == len(headers)
    for name, d in POINTS.items():
        h = headers[name]
        for key, v in (("WBITS", d.quant.wbits), ("KVBITS", d.quant.kvbits), ("GROUP", d.quant.group),
                       ("ROWS", d.hw.rows), ("COLS", d.hw.cols), ("PORT_BITS", d.hw.port_bits),
                       ("ZERO_POINT", int(d.quant.zero_point))):
            assert f"static const int {key} = {v};" in h, (name, key)


def _corrupt_one(vectors_dir):
    """Change one expected value (element 5 of instruction 2, the wq GEMV); return (instr, index, old, new)."""
    rows, expected = read_checks(vectors_dir)
    instr, region, off, length, at = rows[2]
    exp = expected.copy()
    old = int(exp[at + 5])
    exp[at + 5] = old + 3
    exp.astype("<i4").tofile(vectors_dir / "expected.bin")
    return instr, 5, old, old + 3


@pytest.mark.slow
def test_smollm2_layer0_decode_step_and_corruption(tmp_path, capsys):
    """The real SmolLM2-135M layer 0 (hidden 576, 9 heads, 3 KV heads, FFN 1536), a decode step over a
    KV cache of real tokens, through the CLI; then one corrupted golden value must fail csim."""
    d = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 64, False),
               hw=Hardware(rows=16, cols=64, sfu_lanes=16, abuf_depth=8192, kvbuf_depth=128, freq_mhz=250))
    design_json = tmp_path / "design.json"
    d.save(design_json)
    out = tmp_path / "hls"
    assert main(["emit-hls", "--design", str(design_json), "--out", str(out), "--context", "24"]) == 0
    assert main(["csim", str(out), "--opt-level", "1"]) == 0
    text = capsys.readouterr().out
    assert "PASS" in text and "KVSTORE" in text and "ATTN" in text
    rows, expected = read_checks(out / "vectors")
    gemv_sizes = sorted({r[3] for r in rows})
    assert 576 in gemv_sizes and 1536 in gemv_sizes and 192 in gemv_sizes    # d, d_ffn, kv_heads * head_dim
    # a corrupted golden value: csim (reusing the build) reports instruction, index, expected, actual
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    instr, idx, old, new = _corrupt_one(bad / "vectors")
    assert main(["csim", str(bad), "--opt-level", "1"]) == 1
    text = capsys.readouterr().out
    assert f"instruction {instr} (GEMV)" in text
    assert f"index {idx}" in text and f"expected {new}" in text and f"actual {old}" in text
    res = csim.run(bad, opt="-O1")
    assert not res.passed and res.first_mismatch["instr"] == instr and res.first_mismatch["mismatches"] == 1
    assert np.all([r["mismatches"] == 0 for r in res.rows if r["instr"] != instr])


@pytest.mark.slow
def test_prefill_chunk_csim_bit_exact(tmp_path):
    """A prefill chunk (m = 10 tokens at positions 4..13): the GEMM path (two MPE token chunks of
    up to TM = 8 tokens sharing one weight stream), RoPE/KVSTORE over several tokens, causal ATTN
    with per-token key counts."""
    from codesign.vectors import write_vectors

    d = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 32), hw=Hardware(rows=8, cols=16, sfu_lanes=4,
                                                                               abuf_depth=4096))
    write_vectors(d, None, 0, tmp_path / "vec", context=14, tokens=10, seed=5,
                  random_dims="d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=64")
    emit_project(d, tmp_path / "p", vectors=tmp_path / "vec")
    res = csim.run(tmp_path / "p", opt="-O1")
    assert res.passed, (res.first_mismatch, res.summary)
    assert {r["op"] for r in res.rows} >= {"GEMV", "ROPE", "KVSTORE", "ATTN"}
    # wq (n = k = 32, ROWS 8, COLS 16, group 32): 4 row tiles x 2 beats, each beat applied to all 10
    # tokens, after 2 quantizer passes of 8 beats per token
    wq = res.rows[2]
    assert wq["op"] == "GEMV" and wq["beats"] == 10 * (8 + 8) + 4 * 2 * 10
