"""The GEMV input quantizer's per-block activation exponents (one power-of-two exponent per block of
GROUP inputs, docs/NUMERICS.md; MPE: total += (acc_g * scale_g) << (e_g - e0), shift - e0 per token)
on the kernel shapes the Pareto points do not reach: SFU beats wider than a block and not aligned to
it (48 lanes, group 32: one beat closes two blocks), a short last block, blocks that lie entirely in
the MPE's zero padding, MPE beats narrower than a group (COLS 16 < GROUP 32) and wider (COLS 256 =
2 groups), A4 activations, W16 per-channel weights with (uint16) zero points, non-power-of-two SFU
lanes.

Each point is C-simulated bit-exact against fresh golden vectors, and the test shows the vectors
exercise the block exponents: the same layer with ONE exponent per token (the previous numerics)
gives different GEMV outputs, so a kernel that ignored the block exponents would fail csim."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.design import Design, Hardware, Quant
from codesign.gen.hls import csim
from codesign.gen.hls.headers import config_header
from codesign.gen.template import lane_blocks
from codesign.gen.hls.project import emit_project
from codesign.isa.encoding import decode
from codesign.quant import numerics as N
from codesign.quant import pack
from codesign.vectors import read_vectors

pytestmark = pytest.mark.cxx   # g++ C-simulation

POINTS = {
    # 48 SFU lanes over 32-wide blocks: beats at offsets 0 and 16 of a block, each touching two blocks;
    # d_model 80 = 2.5 blocks, d_ffn 112 = 3.5 blocks; COLS 16 < GROUP 32 (a group spans 2 MPE beats)
    "w8a4kv8_g32_8x16_l48": (
        Design("smollm2-135m", "u280", quant=Quant(8, 4, 8, 32, False),
               hw=Hardware(rows=8, cols=16, sfu_lanes=48, abuf_depth=4096, kvbuf_depth=64)),
        {"seed": 11, "d_model": 80, "n_heads": 5, "n_kv_heads": 1, "head_dim": 16, "d_ffn": 112}),
    # W16 per-channel weights, group 128, COLS 256 (2 groups per beat: K' = 256 or 512, so the last
    # block of d_ffn 300 is padding only), 5 SFU lanes; d_model 200 = 1.56 blocks
    "w16a8kv4_g128_4x256_l5": (
        Design("smollm2-135m", "u280", quant=Quant(16, 8, 4, 128, True),
               hw=Hardware(rows=4, cols=256, sfu_lanes=5, abuf_depth=4096, kvbuf_depth=64, port_bits=256)),
        {"seed": 12, "d_model": 200, "n_heads": 5, "n_kv_heads": 1, "head_dim": 40, "d_ffn": 300}),
}


def gemv_exponent_effect(golden) -> dict:
    """Replay the golden steps' results into an activation buffer and, for every GEMV, recompute its
    output from its input with block exponents (must equal the vectors) and with one exponent per
    token (numerics.quantize_pow2 over the whole token). Returns counts over all GEMVs."""
    vec = read_vectors(golden)
    m = vec.manifest
    q = Quant(**m["quant"])
    rows, cols = m["mpe"]["rows"], m["mpe"]["cols"]
    buf = np.zeros(m["buffer_elems"], dtype=np.int64)
    gmem_w = vec.files["gmem_w.bin"]
    out = {"gemvs": 0, "outputs": 0, "differ_per_token": 0, "max_spread": 0, "padding_blocks": 0}
    for ins, s in zip(decode(vec.words), m["steps"]):
        if ins.op == "GEMV":
            x = buf[ins.src:ins.src + ins.m * ins.k].reshape(ins.m, ins.k)
            size = pack.matrix_bytes(ins.n, ins.k, q.wbits, q.group, q.zero_point, rows, cols)
            wq = pack.unpack_matrix(gmem_w[ins.addr:ins.addr + size], ins.n, ins.k, q.wbits, q.group,
                                    q.zero_point, ins.shift, rows, cols)
            xq, e = N.quantize_activation(x, q.abits, q.group)
            assert np.array_equal(N.gemv_q(wq, xq, e).reshape(-1), vec.expected(s["index"]))
            y_token = N.gemv_q(wq, *N.quantize_pow2(x, q.abits))
            out["gemvs"] += 1
            out["outputs"] += y_token.size
            out["differ_per_token"] += int((y_token.reshape(-1) != vec.expected(s["index"])).sum())
            out["max_spread"] = max(out["max_spread"], int((e.max(axis=1) - e.min(axis=1)).max()))
            kstep = max(cols, q.group)
            out["padding_blocks"] += -(-ins.k // kstep) * kstep // q.group - e.shape[1]
        if s["kind"] == "buf":
            buf[s["offset"]:s["offset"] + s["elements"]] = vec.expected(s["index"])
            if "file2" in s:
                buf[s["offset2"]:s["offset2"] + s["elements2"]] = vec.expected2(s["index"])
    return out


# the fast tier keeps the 8x16 point; the 4x256 W16 point runs in the full tier
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n.startswith("w16") else n
                                  for n in sorted(POINTS)])
def test_block_exponent_csim_bit_exact(name, tmp_path):
    d, small = POINTS[name]
    out = tmp_path / name
    emit_project(d, out, context=6, small=small)
    eff = gemv_exponent_effect(out / "golden")
    assert eff["gemvs"] == 7 and eff["max_spread"] > 0
    assert eff["differ_per_token"] > 0, eff          # per-token exponents would not reproduce the vectors
    # K' = max(COLS, GROUP) multiples: with COLS 256 > GROUP 128 the d_ffn GEMV has a block that lies
    # entirely in the MPE's zero padding (its offset is 0 and its sum is 0)
    assert (eff["padding_blocks"] > 0) == (d.hw.cols > d.quant.group)
    res = csim.run(out, opt="-O1")
    assert res.passed, (res.first_mismatch, res.summary, res.stderr)
    # the quantizer keeps its two passes (max over k, quantize over K'), so a GEMV's beats are unchanged
    L, rows, cols = d.hw.sfu_lanes, d.hw.rows, d.hw.cols
    step = max(cols, d.quant.group)
    for r, ins in zip(res.rows, decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))):
        if ins.op == "GEMV":
            kp = -(-ins.k // step) * step
            assert r["beats"] == -(-ins.k // L) + -(-kp // L) + -(-ins.n // rows) * (kp // cols), (r, ins)


def test_exponent_buffer_ports_in_header():
    # blocks one beat of L lanes (starting at a multiple of L) touches: 48 lanes start at block offsets
    # 0 and 16 -> 2; 3 lanes straddle a block end -> 2; 64 lanes cover 2 aligned blocks
    assert [lane_blocks(lanes, 32) for lanes in (4, 16, 32, 48, 64, 3, 96)] == [1, 1, 1, 2, 2, 2, 3]
    h = config_header(POINTS["w8a4kv8_g32_8x16_l48"][0])
    assert "#define CS_GROUP 32" in h and "#define CS_XBLK_PORTS 2" in h and "#define CS_NSUB 1" in h
    h = config_header(POINTS["w16a8kv4_g128_4x256_l5"][0])
    assert "#define CS_GROUP 128" in h and "#define CS_XBLK_PORTS 2" in h and "#define CS_NSUB 2" in h
