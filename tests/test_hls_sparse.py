"""N:M sparse weight streams in the HLS kernel (issue 16.2): the weight mover decodes the lane fields
(W-bit kept weight + its index in its block of M), each MPE lane multiplies its weight by the
activation its index selects, C-simulated bit-exact after every instruction against the golden
vectors (codesign.vectors.write_vectors packs the sparse stream and runs the golden executor on it);
a flipped index bit in gmem_w is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.design import Design, load_design
from codesign.errors import CodesignError
from codesign.gen.hls import csim
from codesign.gen.hls.headers import config_header, sparse_params
from codesign.gen.hls.project import emit_project
from codesign.gen.template import template_params
from codesign.isa.encoding import decode
from codesign.quant.pack import matrix_geometry

pytestmark = pytest.mark.cxx   # g++ C-simulation

SMALL = {"seed": 3, "d_model": 96, "n_heads": 6, "n_kv_heads": 2, "head_dim": 16, "d_ffn": 160}
POINTS_DIR = Path(__file__).resolve().parents[1] / "hw" / "hls" / "points"
DENSE = load_design(POINTS_DIR / "w4a8kv8_g32_32x32.json")
SPARSE = {p.stem: load_design(p) for p in sorted((POINTS_DIR / "sparse").glob("*.json"))}


def _with(d: Design, **quant) -> Design:
    dd = d.to_dict()
    dd["quant"].update(quant)
    dd.pop("prediction", None)
    return Design.from_dict(dd)


def _gemv_beats_expected(d: Design, ins) -> int:
    """Quantizer passes over k and K' (SFU_LANES per beat) + ceil(n/ROWS) x K'/BI MPE beats per token,
    K' = k padded to max(BI, group), BI = COLS * M / N inputs per beat."""
    bi = sparse_params(d)["BEAT_INPUTS"]
    L, step = d.hw.sfu_lanes, max(bi, d.quant.group)
    kp = -(-ins.k // step) * step
    return -(-ins.k // L) + -(-kp // L) + -(-ins.n // d.hw.rows) * (kp // bi)


def test_sparse_points_and_headers():
    assert {"w4a8kv8_g32_32x32_s24", "w4a8kv8_g32_32x32_s48"} <= set(SPARSE)
    for name, d in SPARSE.items():
        assert (d.quant.wbits, d.hw.rows, d.hw.cols, d.quant.group) == (4, 32, 32, 32)   # the dense point's MPE
        t = template_params(d)
        h = config_header(d)
        n, m = t["NM_N"], t["NM_M"]
        assert (f"{n}:{m}") == d.quant.sparsity
        ib = {4: 2, 8: 3}[m]
        for key, v in (("NM_N", n), ("NM_M", m), ("NM_IB", ib), ("BEAT_INPUTS", 32 * m // n)):
            assert f"static const int {key} = {v};" in h, (name, key)
        assert f"#define CS_BEAT_INPUTS {32 * m // n}" in h and "#define CS_NSUB 2" in h   # 64 inputs, group 32
    # dense: 1 of 1, no index bits, a beat covers COLS inputs, NSUB as the mapper's
    h = config_header(DENSE)
    t = template_params(DENSE)
    for key, v in (("NM_N", 1), ("NM_M", 1), ("NM_IB", 0), ("BEAT_INPUTS", 32)):
        assert f"static const int {key} = {v};" in h
    assert f"#define CS_NSUB {t['NSUB']}" in h and "#define CS_BEAT_INPUTS 32" in h


def _run_small(d: Design, out: Path, context: int = 12):
    emit_project(d, out, context=context, small=SMALL)
    res = csim.run(out, opt="-O1")
    assert res.passed, (res.first_mismatch, res.summary, res.stderr)
    instrs = decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))
    gemvs = [(r, ins) for r, ins in zip(res.rows, instrs) if ins.op == "GEMV"]
    assert len(gemvs) == 7 and all(r["elements"] > 0 for r in res.rows)
    for r, ins in gemvs:
        assert r["beats"] == _gemv_beats_expected(d, ins), (r, ins)
    return res, instrs


# small random layer: the two points, plus shapes the points do not reach (zero points; a beat of
# fewer inputs than a group: BI 16 < group 64; BI 128 > group 32 with 4:8; 128-bit ports)
EXTRA = {
    "s24_zp_bi16_g64": dict(quant=dict(sparsity="2:4", zero_point=True, group=64), hw=dict(rows=8, cols=8)),
    "s48_bi128_g32_p128": dict(quant=dict(sparsity="4:8", wbits=3, kvbits=4), hw=dict(rows=16, cols=64, port_bits=128)),
}


def _extra(name: str) -> Design:
    dd = DENSE.to_dict()
    dd.pop("prediction", None)
    for part, vals in EXTRA[name].items():
        dd[part].update(vals)
    return Design.from_dict(dd)


# the fast tier keeps the first 2:4 point; the others (4:8, zero points, wide beats) run in the full tier
@pytest.mark.parametrize("name", [n if i == 0 else pytest.param(n, marks=pytest.mark.slow)
                                  for i, n in enumerate(sorted(SPARSE) + sorted(EXTRA))])
def test_sparse_small_layer_csim_bit_exact(name, tmp_path):
    d = SPARSE[name] if name in SPARSE else _extra(name)
    assert d.quant.sparsity != "dense"
    _run_small(d, tmp_path / "p")


def _flip_index_bit(folder: Path, d: Design, ins) -> tuple[int, int]:
    """Flip the low index bit of the lane of row tile 0, beat 0 with the largest |q| (a kept weight
    that matters) in the testbench's gmem_w image; returns (row, lane)."""
    g = matrix_geometry(ins.n, ins.k, d.quant.wbits, d.quant.group, d.quant.zero_point, d.hw.rows, d.hw.cols,
                        d.quant.sparsity)
    w, width = d.quant.wbits, d.quant.wbits + g["index_bits"]
    path = folder / "vectors" / "gmem_w.bin"
    img = bytearray(path.read_bytes())
    beat0 = ins.addr + g["scale_bytes"] + g["zero_bytes"]
    bits = np.unpackbits(np.frombuffer(bytes(img[beat0:beat0 + g["beat_bytes"]]), dtype=np.uint8), bitorder="little")
    lanes = d.hw.rows * d.hw.cols
    fields = (bits[:lanes * width].reshape(lanes, width).astype(np.int64) << np.arange(width)).sum(axis=1)
    q = fields & ((1 << w) - 1)
    q = np.where(q >> (w - 1), q - (1 << w), q)           # symmetric weights: two's complement
    lane = int(np.argmax(np.abs(q)))
    bit = lane * width + w                                 # the index's lowest bit
    img[beat0 + bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(img))
    return divmod(lane, d.hw.cols)


def test_sparse_index_fault_caught(tmp_path):
    """One flipped index bit in the sparse weight stream of wq (gmem_w, expectations unchanged): the
    lane's mux selects the neighbouring activation, and csim fails at that GEMV."""
    d = SPARSE["w4a8kv8_g32_32x32_s24"]
    res, instrs = _run_small(d, tmp_path / "ok")
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "ok", bad)
    wq = next(i for i, ins in enumerate(instrs) if ins.op == "GEMV")
    _flip_index_bit(bad, d, instrs[wq])
    res = csim.run(bad, opt="-O1")
    assert not res.passed and res.first_mismatch["instr"] == wq
    assert all(r["mismatches"] == 0 for r in res.rows[:wq])


def test_sparse_design_refuses_dense_vectors(tmp_path):
    from codesign.vectors import write_vectors

    write_vectors(DENSE, None, 0, tmp_path / "vec", context=8, seed=1,
                  random_dims="d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=64")
    with pytest.raises(CodesignError, match="sparsity"):
        emit_project(SPARSE["w4a8kv8_g32_32x32_s24"], tmp_path / "p", vectors=tmp_path / "vec")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["w4a8kv8_g32_32x32_s24", "w4a8kv8_g32_32x32_s48"])
def test_smollm2_layer0_sparse_csim_and_index_fault(name, tmp_path, capsys):
    """The real SmolLM2-135M layer 0 (hidden 576, FFN 1536), decode step at context 24, N:M sparse
    weights through the CLI, bit-exact after every instruction; then a flipped index bit is caught."""
    d = SPARSE[name]
    out = tmp_path / "hls"
    assert main(["emit-hls", "--design", str(POINTS_DIR / "sparse" / f"{name}.json"), "--out", str(out),
                 "--context", "24"]) == 0
    assert main(["csim", str(out), "--opt-level", "1"]) == 0
    text = capsys.readouterr().out
    assert "PASS" in text and "ATTN" in text
    res = csim.run(out, opt="-O1")
    assert res.passed
    instrs = decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))
    for r, ins in zip(res.rows, instrs):
        if ins.op == "GEMV":
            assert r["beats"] == _gemv_beats_expected(d, ins), (r, ins)
    assert {ins.k for ins in instrs if ins.op == "GEMV"} >= {576, 1536}
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    wq = next(i for i, ins in enumerate(instrs) if ins.op == "GEMV")
    _flip_index_bit(bad, d, instrs[wq])
    assert main(["csim", str(bad), "--opt-level", "1"]) == 1
    res = csim.run(bad, opt="-O1")
    assert not res.passed and res.first_mismatch["instr"] == wq
