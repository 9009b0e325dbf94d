"""Run-time weight precision in the HLS kernel (issue 16.2): one build, two weight modes (cfg::WBITS and
cfg::WBITS_HI), each GEMV at its instruction's bits (Instr.wbits, docs/ISA.md). The weight mover reads the
matrix's lane fields at its width, the MPE lanes hold w - z at the wider width; C-simulated bit-exact
after every instruction against the golden vectors (codesign.vectors.write_vectors quantizes each
matrix at its unit's bits, design.json layer_wbits). Uniform designs keep their headers and streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.design import Design, load_design
from codesign.gen.hls import csim
from codesign.gen.hls.headers import config_header
from codesign.gen.hls.project import emit_project
from codesign.isa.encoding import decode

pytestmark = pytest.mark.cxx   # g++ C-simulation

SMALL = {"seed": 3, "d_model": 96, "n_heads": 6, "n_kv_heads": 2, "head_dim": 16, "d_ffn": 160}
POINTS_DIR = Path(__file__).resolve().parents[1] / "hw" / "hls" / "points"
DENSE = load_design(POINTS_DIR / "w4a8kv8_g32_32x32.json")
MIXED = load_design(POINTS_DIR / "mixed" / "w4w8a8kv8_g32_32x32_mp2.json")
# layer 0 of the design's layer_wbits: attention at W4 (field 0), FFN at W8
LAYER0 = {"wq": 0, "wk": 0, "wv": 0, "wo": 0, "ffn_gate": 8, "ffn_up": 8, "ffn_down": 8}


def _with(d: Design, **quant) -> Design:
    dd = d.to_dict()
    dd["quant"].update(quant)
    dd.pop("prediction", None)
    return Design.from_dict(dd)


def test_headers_carry_the_modes():
    assert (MIXED.quant.wbits, MIXED.quant.hi_wbits, MIXED.quant.mixed) == (4, 8, 2)
    assert MIXED.layer_wbits[0] == {"attn": 4, "ffn": 8}
    assert "static const int WBITS = 4;" in config_header(MIXED)
    assert "static const int WBITS_HI = 8;" in config_header(MIXED)
    assert "static const int WBITS_HI = 0;" in config_header(DENSE)


def _run_small(d: Design, out: Path):
    emit_project(d, out, context=12, small=SMALL)
    res = csim.run(out, opt="-O1")
    assert res.passed, (res.first_mismatch, res.summary, res.stderr)
    instrs = decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))
    assert {i.layer_op: i.wbits for i in instrs if i.op == "GEMV"} == LAYER0
    return res, instrs


# the fast tier keeps the W4/W8 point; zero points and 2:4 lanes with two modes run in the full tier
@pytest.mark.parametrize("extra", [{}, pytest.param({"zero_point": True}, marks=pytest.mark.slow),
                                   pytest.param({"sparsity": "2:4"}, marks=pytest.mark.slow)],
                         ids=["w4w8", "w4w8-zp", "w4w8-2of4"])
def test_mixed_small_layer_csim_bit_exact(extra, tmp_path):
    _run_small(_with(MIXED, **extra), tmp_path / "p")


def test_wrong_mode_in_an_instruction_is_caught(tmp_path):
    """The kernel reads a W8 matrix at W4 when its instruction says 0 (the build's WBITS): the stream
    is misread and the C-simulation fails at that GEMV, so the instruction field really selects the mode."""
    out = tmp_path / "p"
    res, instrs = _run_small(MIXED, out)
    gate = next(i for i, ins in enumerate(instrs) if ins.layer_op == "ffn_gate")
    for name in ("vectors/gmem_io.bin", "golden/instr.bin"):
        path = out / name
        if not path.is_file():
            continue
        img = bytearray(path.read_bytes())
        word14 = gate * 64 + 14 * 4                       # instruction `gate`, word 14: wbits
        assert img[word14] == 8
        img[word14] = 0
        path.write_bytes(bytes(img))
    bad = csim.run(out, opt="-O1")
    assert not bad.passed and bad.first_mismatch["instr"] == gate


@pytest.mark.slow
def test_smollm2_layer0_mixed_csim(tmp_path, capsys):
    """The real SmolLM2-135M layer 0 (hidden 576, FFN 1536) through the CLI: attention W4, FFN W8, one build."""
    out = tmp_path / "hls"
    assert main(["emit-hls", "--design", str(POINTS_DIR / "mixed" / "w4w8a8kv8_g32_32x32_mp2.json"), "--out",
                 str(out), "--context", "24"]) == 0
    assert main(["csim", str(out), "--opt-level", "1"]) == 0
    assert "PASS" in capsys.readouterr().out
    instrs = decode(np.fromfile(out / "golden" / "instr.bin", dtype="<u4"))
    assert {i.layer_op: i.wbits for i in instrs if i.op == "GEMV"} == LAYER0
    assert {ins.k for ins in instrs if ins.op == "GEMV"} >= {576, 1536}
