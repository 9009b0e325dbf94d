"""`codesign emit-rtl` and `codesign verify`: generated wrapper read back with pyverilog, error paths,
and the verify command end to end on a small random layer (Icarus) against the emitted folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codesign.design import Design, Hardware, Quant
from codesign.errors import CodesignError
from codesign.gen.rtl.emit import KERNEL, check_wrapper, emit_rtl
from codesign.gen.rtl.isa import isa_include
from codesign.gen.rtl.params import core_params

SMALL = "d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96"


def _design(**hw) -> Design:
    base = dict(rows=2, cols=8, sfu_lanes=4, abuf_depth=1024, kvbuf_depth=16, port_bits=64)
    return Design(model="smollm2-135m", device="u280", quant=Quant(wbits=4, abits=8, kvbits=8, group=32),
                  hw=Hardware(**{**base, **hw})).validate()


def test_emit_rtl_wrapper_matches_design(tmp_path):
    d = _design(rows=3, cols=64, port_bits=128)
    man = emit_rtl(d, tmp_path / "out")
    params = core_params(d)
    assert man["parameters"] == params and man["top"] == KERNEL
    assert man["pyverilog"]["parameters"]["ROWS"] == 3 and man["pyverilog"]["parameters"]["COLS"] == 64
    ports = man["pyverilog"]["ports"]
    assert ports["m_axi_gmem_w_RDATA"] == {"dir": "input", "bits": 128}
    assert ports["m_axi_gmem_kv_WSTRB"] == {"dir": "output", "bits": 16}
    assert ports["s_axi_control_AWADDR"]["bits"] == 7 and ports["ap_clk"]["dir"] == "input"
    files = (tmp_path / "out" / "rtl" / "files.f").read_text().split()
    assert files[-1] == f"{KERNEL}.v" and "codesign_top.v" in files and any(f.startswith("sfu/") for f in files)
    # the generated ISA include travels with the sources it is included by
    assert "codesign_isa.vh" in files and "codesign_isa.vh" in man["files"]
    assert (tmp_path / "out" / "rtl" / "codesign_isa.vh").read_text() == isa_include()
    assert (tmp_path / "out" / "sim" / "test_core_layer.py").is_file()
    assert json.loads((tmp_path / "out" / "design.json").read_text())["hw"]["rows"] == 3


def test_check_wrapper_rejects_a_tampered_parameter(tmp_path):
    d = _design()
    emit_rtl(d, tmp_path / "out")
    w = tmp_path / "out" / "rtl" / f"{KERNEL}.v"
    w.write_text(w.read_text().replace("parameter integer ROWS                       = 2",
                                       "parameter integer ROWS                       = 5"))
    with pytest.raises(CodesignError, match="ROWS"):
        check_wrapper(w, core_params(d))


def test_emit_rtl_refuses_existing_folder_and_bad_tile(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "d.json").write_text(json.dumps(_design().to_dict()))
    r = subprocess.run([sys.executable, "-m", "codesign", "emit-rtl", "--design", str(tmp_path / "d.json"),
                        "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and "--force" in r.stderr
    bad = _design().to_dict()
    bad["hw"]["cols"] = 48
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = subprocess.run([sys.executable, "-m", "codesign", "emit-rtl", "--design", str(tmp_path / "bad.json"),
                        "--out", str(tmp_path / "y")], capture_output=True, text=True)
    assert r.returncode == 2 and "hw.cols" in r.stderr


def test_verify_bad_simulator(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps(_design().to_dict()))
    r = subprocess.run([sys.executable, "-m", "codesign", "verify", "--design", str(tmp_path / "d.json"),
                        "--sim", "vcs"], capture_output=True, text=True)
    assert r.returncode == 2 and "--sim" in r.stderr and "icarus" in r.stderr


@pytest.mark.sim
@pytest.mark.slow
def test_verify_command_on_emitted_rtl(tmp_path):
    """emit-rtl then verify --rtl-dir (Icarus, small random layer): PASS and the cycle table."""
    (tmp_path / "d.json").write_text(json.dumps(_design().to_dict()))
    env_cache = {"CODESIGN_CACHE": str(tmp_path / "cache")}
    import os
    env = {**os.environ, **env_cache}
    r = subprocess.run([sys.executable, "-m", "codesign", "emit-rtl", "--design", str(tmp_path / "d.json"),
                        "--out", str(tmp_path / "rtl")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "codesign", "verify", "--design", str(tmp_path / "d.json"),
                        "--sim", "icarus", "--rtl-dir", str(tmp_path / "rtl"), "--random", SMALL, "--context", "6",
                        "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = json.loads(r.stdout[r.stdout.index("{\n"):])
    assert out["passed"] and out["report"]["mismatch"] is None
    ops = {row["op"]: row for row in out["cycle_table"]}
    assert set(ops) == {"LOAD", "NORM", "GEMV", "ROPE", "KVSTORE", "ATTN", "ADD", "ACT", "STORE"}
    assert ops["GEMV"]["count"] == 7 and ops["GEMV"]["rtl"] > 0


def test_verify_caches_follow_their_sources(tmp_path, monkeypatch):
    """Cached golden vectors and emitted RTL are keyed by the sources they come from: after a
    numerics or RTL change (e.g. the per-block activation exponents) verify never reuses them."""
    from codesign.gen.rtl import verify

    golden = tmp_path / "numerics.py"
    golden.write_text("ACT_FRAC = 16\n")
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(verify, "GOLDEN_SOURCES", [golden])
    d = _design()
    first = verify.vectors_for(d, 4, random_dims=SMALL)
    assert verify.vectors_for(d, 4, random_dims=SMALL) == first          # unchanged sources: reused
    golden.write_text("ACT_FRAC = 16  # edited\n")
    second = verify.vectors_for(d, 4, random_dims=SMALL)
    assert second != first and (second / "manifest.json").is_file()

    rtl = tmp_path / "mpe.v"
    rtl.write_text("module mpe; endmodule\n")
    monkeypatch.setattr(verify, "rtl_sources", lambda: [rtl])
    a = verify.rtl_folder(d, None).root
    rtl.write_text("module mpe; wire rel; endmodule\n")
    b = verify.rtl_folder(d, None).root
    assert a != b and (b / "manifest.json").is_file()
