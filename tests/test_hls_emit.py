"""emit-hls project contents: run_hls.tcl (real part from the device database, clock period, top
function, the four Vitis HLS steps), generated headers, atomic output and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.design import Design, Hardware, Quant
from codesign.devices import get_device
from codesign.errors import CodesignError
from codesign.gen.hls.headers import config_header, isa_header
from codesign.gen.hls.project import emit_project
from codesign.gen.hls.tcl import TOP
from codesign.isa.encoding import WORDS
from codesign.quant import numerics as N

SMALL = {"seed": 1, "d_model": 32, "n_heads": 2, "n_kv_heads": 1, "head_dim": 16, "d_ffn": 64}


@pytest.mark.parametrize("device,freq", [("u280", 225), ("u55c", 300)])
def test_run_hls_tcl_names_part_clock_top(tmp_path, device, freq):
    d = Design("smollm2-135m", device, quant=Quant(4, 8, 8, 32), hw=Hardware(rows=8, cols=8, freq_mhz=freq))
    out = tmp_path / "p"
    summary = emit_project(d, out, context=4, small=SMALL)
    tcl = (out / "run_hls.tcl").read_text()
    part = get_device(device).part
    assert summary["part"] == part and summary["top"] == TOP == "llm_proc"
    assert re.search(rf"^set_part \{{{re.escape(part)}\}}$", tcl, re.M)
    assert re.search(rf"^create_clock -period {1000.0 / freq:.3f}\b", tcl, re.M)
    assert re.search(r"^set_top llm_proc$", tcl, re.M)
    for step in ("open_project", "open_solution", "csim_design", "csynth_design", "cosim_design",
                 "export_design -format xo"):
        assert re.search(rf"^{step}", tcl, re.M), step
    for f in ("src/llm_proc.cpp", "src/codesign_config.h", "src/cs_isa.h"):
        assert f"add_files {f}" in tcl
    assert "add_files -tb tb/tb_llm_proc.cpp" in tcl
    man = json.loads((out / "project.json").read_text())
    assert man["clock_period_ns"] == pytest.approx(1000.0 / freq)
    for f in ("Makefile", "README.md", "golden/manifest.json", "vectors/checks.txt", "vectors/gmem_w.bin"):
        assert (out / f).is_file(), f
    assert "make" not in tcl and "llm_proc" in (out / "Makefile").read_text()


def test_headers_follow_design_numerics_and_encoding():
    d = Design("smollm2-135m", "u280", quant=Quant(3, 8, 4, 64, True), hw=Hardware(rows=4, cols=128, sfu_lanes=2))
    h = config_header(d)
    for line in ("WBITS = 3;", "ABITS = 8;", "KVBITS = 4;", "GROUP = 64;", "ZERO_POINT = 1;", "ROWS = 4;",
                 "COLS = 128;", "SFU_LANES = 2;", f"ACT_FRAC = {N.ACT_FRAC};", f"LOG2E_Q = {N.LOG2E_Q};"):
        assert line in h, line
    assert f"SIG_LUT[{len(N.SIG_LUT)}]" in h and f"EXP_LUT[{len(N.EXP_LUT)}]" in h
    isa = isa_header()
    for word, lsb, width, name, signed in WORDS:
        if name not in ("addr", "addr_hi"):
            assert f"ins.{name} = " in isa
        assert f"w[{word}] >> {lsb}" in isa
    with pytest.raises(CodesignError, match="hw.cols"):
        config_header(Design("m", "u280", quant=Quant(group=64), hw=Hardware(cols=48)))


def test_cli_errors(tmp_path, capsys):
    d = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 32), hw=Hardware(rows=8, cols=8))
    dj = tmp_path / "d.json"
    d.save(dj)
    out = tmp_path / "exists"
    out.mkdir()
    assert main(["emit-hls", "--design", str(dj), "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["emit-hls", "--design", str(dj), "--out", str(tmp_path / "x"), "--backend", "vivado"]) == 2
    assert "--backend" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["csim", str(tmp_path)]) == 2
    assert "not an emit-hls project" in capsys.readouterr().err
    gpu = Design("smollm2-135m", "a100")
    gj = tmp_path / "g.json"
    gpu.save(gj)
    assert main(["emit-hls", "--design", str(gj), "--out", str(tmp_path / "g")]) == 2
    assert "not an FPGA" in capsys.readouterr().err


def test_vectors_option_checks_hash_and_design(tmp_path):
    d = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 32), hw=Hardware(rows=8, cols=8))
    p = tmp_path / "p"
    emit_project(d, p, context=4, small=SMALL)
    # reuse the golden folder as --vectors: works for the same design
    emit_project(d, tmp_path / "q", vectors=p / "golden")
    # ... refused for a different MPE tile (weights are packed per rows x cols)
    other = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 32), hw=Hardware(rows=16, cols=8))
    with pytest.raises(CodesignError, match="rows"):
        emit_project(other, tmp_path / "r", vectors=p / "golden")
    # ... and a corrupted golden file is caught by its SHA-256
    f = p / "golden" / "gmem_w.bin"
    b = bytearray(f.read_bytes())
    b[10] ^= 0xFF
    f.write_bytes(bytes(b))
    with pytest.raises(CodesignError, match="gmem_w.bin"):
        emit_project(d, tmp_path / "s", vectors=p / "golden")
    assert not (tmp_path / "s").exists()


def test_moe_vectors_refused_with_clear_error(tmp_path):
    from codesign.vectors import write_vectors

    d = Design("smollm2-135m", "u280", quant=Quant(4, 8, 8, 32), hw=Hardware(rows=8, cols=8))
    write_vectors(d, None, 0, tmp_path / "moe", context=4, seed=2,
                  random_dims="d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=32,n_experts=4,top_k=2")
    with pytest.raises(CodesignError, match="router.*MoE"):
        emit_project(d, tmp_path / "p", vectors=tmp_path / "moe")
    assert not (tmp_path / "p").exists()


def test_opcode_names_come_from_the_isa_not_a_hand_copy():
    # the testbench reports opcodes by the generated cs_isa.h names; no source of hw/hls restates them
    from codesign.gen.hls.headers import isa_header
    from codesign.isa.instr import OPCODES
    hdr = isa_header()
    names = re.search(r"OP_NAMES\[N_OPCODES\] = \{([^}]*)\}", hdr).group(1)
    assert [n.strip().strip('"') for n in names.split(",")] == list(OPCODES)
    hw_hls = Path(__file__).resolve().parents[1] / "hw" / "hls"
    for src in list(hw_hls.glob("*.cpp")) + list(hw_hls.glob("*.h")):
        text = src.read_text()
        assert '"KVSTORE"' not in text and '"GEMV"' not in text, f"{src.name} holds a copy of the opcode names"
