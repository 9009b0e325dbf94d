"""`codesign compile` and `codesign vectors` end to end (small random layer; fast)."""

import json

import numpy as np

from codesign.cli import main
from codesign.isa.encoding import decode


def _design(tmp_path, **quant):
    p = tmp_path / "design.json"
    p.write_text(json.dumps({"model": "smollm2-135m", "device": "u280", "quant": quant or {"wbits": 4},
                             "hw": {"rows": 8, "cols": 16}}))
    return p


def test_compile_writes_json_and_bin(tmp_path, capsys):
    d = _design(tmp_path)
    assert main(["compile", "--design", str(d), "--context", "40", "--out", str(tmp_path / "l.json")]) == 0
    out = capsys.readouterr().out
    assert "ATTN" in out and "17 instructions" in out
    data = json.loads((tmp_path / "l.json").read_text())
    assert data["context"] == 40 and [i["op"] for i in data["instructions"]].count("GEMV") == 7
    assert main(["compile", "--design", str(d), "--phase", "prefill", "--tokens", "16",
                 "--out", str(tmp_path / "p.bin")]) == 0
    instrs = decode(np.frombuffer((tmp_path / "p.bin").read_bytes(), dtype="<u4"))
    assert instrs[0].m == 16 and instrs[7].op == "ATTN" and instrs[7].ctx == 16
    capsys.readouterr()
    assert main(["compile", "--design", str(d), "--batch", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["op"] for r in rows].count("ATTN") == 3 and rows[0]["m"] == 3
    # refuses to overwrite, names the field
    assert main(["compile", "--design", str(d), "--out", str(tmp_path / "p.bin")]) == 2
    assert "--out" in capsys.readouterr().err


def test_compile_errors(tmp_path, capsys):
    d = _design(tmp_path)
    assert main(["compile", "--design", str(d), "--phase", "decode", "--context", "0"]) == 2
    assert "context" in capsys.readouterr().err
    assert main(["compile", "--design", str(tmp_path / "none.json")]) == 2


def test_vectors_command_and_check(tmp_path, capsys):
    d = _design(tmp_path, wbits=3, abits=8, kvbits=4, group=32, zero_point=True)
    out = tmp_path / "vec"
    spec = "d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=48"
    assert main(["vectors", "--design", str(d), "--random", spec, "--context", "6", "--out", str(out),
                 "--report"]) == 0
    text = capsys.readouterr().out
    assert "17 instructions" in text and "SQNR" in text
    assert main(["vectors", "--check", str(out)]) == 0
    assert "all equal" in capsys.readouterr().out
    raw = bytearray((out / "gmem_kv.bin").read_bytes())
    raw[0] ^= 0xFF
    (out / "gmem_kv.bin").write_bytes(bytes(raw))
    assert main(["vectors", "--check", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codesign vectors: error: vectors:") and "gmem_kv.bin" in err
